"""Explicit length instructions in a prompt: "in one word", "three sentences", "a 2,000-word essay"…

A small grammar over number words and units turns the instruction into a :class:`LengthRequest`:

* **absolute** requests give a length in *words* (``requested_words``): words, sentences,
  paragraphs, lines, pages, characters, items of a list ("list 50 …", "10 tips"), fixed forms ("a
  haiku", "a sonnet", "a tweet"), "one word", "yes or no" and other answers of a word or so
  ("respond with just a number", "… Just the name."); ranges ("1000-1250 words") take their middle,
  bounds before the count ("under 100 words", "no longer than two sentences") 0.8× (at least:
  1.15×) their value. The length may come as a requirement after the task ("It should be 700
  words.", "There should be 3 paragraphs.", "Aim for 500 words."), as a clause or sentence of its own
  ("Write a history of the Silk Road, 1,500 words.", "… 1000-1500 words please."), or in a request
  ("I need a 3,500-word report");
* **relative** requests give a factor on the length the model would otherwise write
  (``multiplier``): "briefly / concise / a short answer / no explanation" (< 1), "detailed /
  comprehensive / in depth / explain … in detail" and "the full program / complete code" (> 1), and
  for a request for code "only the code / no explanation" (the code's share of such an answer, 0.5).

The grammar errs towards finding nothing: a misread request moves the whole distribution, which on
real prompts cost far more than a missed one (``benchmarks/pooled_bench.py``, part ``instructions``).
So a count used as an adjective ("a 200-word summary") counts only when an output verb opens its
clause ("write a …", "and generate a …", not "copies of a 400-page book" or "the steps to write a
10-page essay"); a list needs two items or more; "short" and "brief" count for the answer ("briefly",
"keep it short", "a short summary"), not for a genre ("a short story") or each item ("a brief
description of each"). A count is not the answer's when it is quoted ("The assignment says 'Write
2-3 pages'"), describes a text that exists ("The article below is about 3,000 words"), or is someone
else's rule ("My professor says the paper has to be 10 pages", "the convention that subject lines
should be 50 characters"). Nine probe sets written by helpers who never saw this grammar measure it
(``tests/data/length_instructions_blind*.jsonl``, docs/predictor.md).

Words convert to tokens with the target's tokens-per-word (:data:`TOKENS_PER_WORD`). The unit sizes
were measured on the AlpacaEval responses of twenty models (``../shared/data/alpaca_eval``): prose
sentences have 18 words (median), prose paragraphs 47 (mean), characters per word 6.2 (with the
space); a list by its count and the kind of its items (:mod:`sagepred.list_sizes`: five tips about 245
words, thirty fruits about 580); a page is the usual 500 words; a stanza 33 (the one poem of the data asked for
in stanzas has five in 165 words: four lines of eight words); a minute of a speech 130 (a usual speaking
rate; the data asks for none); fixed forms as :data:`WORDS_PER_FORM` says.
Tokens per word are the medians of ``tokens_<tokenizer> / output_words`` over all 227 models'
responses of 20 words or more.

:func:`parse_length_request` is pure and fast (regular expressions, no model); the pooled predictor
uses it to move its distribution toward what the prompt asks for (``sagepred.pooled``). A prompt in
Spanish, Portuguese, French, Italian, German, Russian, Chinese or Japanese is read by
:mod:`sagepred.length_instructions_multilingual` instead (its requests carry their ``language``). A
request to transform a pasted text ("Proofread this:", "Translate into French:", "Make it shorter"
after an answer) is sized by that text (:mod:`sagepred.length_transforms`, unit ``pasted_text``),
unless its own words give a size ("Rewrite this in 50 words:"). A template states its length in fields
(:mod:`sagepred.length_fields`: "Length: 150-200 words", ``"max_words": 120``, "## Format" then "- 3
paragraphs"); a closed answer ("Output the label only", "Reply with '1' or '2' and nothing else") is
looked for where a long prompt's instruction stands, its first and last paragraphs. An answer asked for
in sized parts ("1) TL;DR in at most 25 words 2) Analysis of about 200 words", "## Summary (~100
words)" / "## Risks (3 bullets)") is the sum of its parts (:mod:`sagepred.length_parts` finds them), and a
size per counted thing multiplies ("~10 slides, about 30 words of text per slide", "three 50-word bios").
"""

from __future__ import annotations

import bisect
import functools
import math
import re
from dataclasses import dataclass

from sagepred.code_only import CODE_ONLY_MULTIPLIER, CodeOnly, find_code_only, names_code
from sagepred.length_fields import field_of, keyed_length, relative_field
from sagepred.length_instructions_multilingual import (
    CHARACTER_LANGUAGES,
    TOKENS_PER_WORD_BY_LANGUAGE,
    code_only_request,
    detect_languages,
    explains_code,
    parse_multilingual_request,
    parse_unidentified,
    parts_request,
    spaced_language_units,
)
from sagepred.length_parts import UNIT_LABEL, answer_parts
from sagepred.length_plans import plan_items
from sagepred.length_transforms import (
    TOKENS_PER_WORD_TRANSLATED,
    PastedTransform,
    find_foreign_transform,
    find_transform,
)
from sagepred.list_sizes import list_kind, list_words, named_kind
from sagepred.number_words import DIGITS as _DIGITS
from sagepred.number_words import NUMBER, parse_number

WORDS_PER_UNIT: dict[str, float] = {
    "word": 1.0,
    "sentence": 18.0,
    "paragraph": 47.0,
    "line": 10.0,
    "page": 500.0,
    "character": 1.0 / 6.2,
    "stanza": 33.0,
    "minute": 130.0,
}
"""Words per unit of an instruction (measured; see the module docstring). A list's items have no one
size: :func:`sagepred.list_sizes.list_words` sizes a list by its count and the kind of its items."""

_UNNAMED_ITEMS = re.compile(r"\s*(?:please|pls|plz|more|of them|[.?!,]|$)", re.I)
"""After a list's count, no word naming its items ("list 7 please"): the kind is read before the count."""
_OPENING_SPAN = 300
"""Characters of the prompt's start where an opening list ("5 tips for …") is looked for."""
_NAMING_SPAN = 80
"""Characters after a list's count read for the kind of its items (:func:`sagepred.list_sizes.list_kind`)."""

TOKENS_PER_WORD: dict[str | None, float] = {
    "cl100k": 1.294,
    "llama3": 1.294,
    "qwen": 1.305,
    "llama2": 1.562,
    "mistral-v1": 1.493,
    "mistral-v3": 1.493,
    None: 1.33,
}
"""Median tokens per whitespace word of real responses, per tokenizer family (None: other families)."""
WORDS_PER_UNIT["token"] = 1.0 / TOKENS_PER_WORD[None]
"""A length in tokens ("in under 100 tokens") is kept as tokens: :meth:`LengthRequest.requested_tokens`
gives the count back whatever the target's tokenizer (a user who counts tokens counts the model's)."""

SHORT_ANSWER_TOKENS = 2.0
"""Tokens of a one-word / yes-no / just-the-number answer (the word and its punctuation)."""

SHORT_ANSWER_UNITS = frozenset({"one_word", "yes_no", "short_answer"})
"""Units of an answer of a word or so, whatever the tokenizer."""

WORDS_PER_FORM: dict[str, float] = {"haiku": 20.0, "limerick": 34.0, "sonnet": 130.0, "tweet": 55.0}
"""Words of a fixed-form text as models write it (poem, title and any line of preamble): medians of
the responses to "write a haiku / limerick / sonnet / tweet" prompts in ``../shared/data``."""

BRIEF_MULTIPLIER = 0.5
DETAILED_MULTIPLIER = 1.6
FULL_CODE_MULTIPLIER = 1.8


_UNITS = {
    "word": r"words?",
    "sentence": r"sentences?",
    "paragraph": r"paragraphs?|paras?",
    "line": r"(?<!new )(?<!new-)(?<!blank )(?<!empty )lines?(?![ -]breaks?\b)",
    "page": r"pages?",
    "character": r"characters?|chars?",
    "stanza": r"stanzas?",
    "token": r"tokens?|tokns?|toks?",
    "item": r"items?|bullet(?:[ -]points?|s)?|points?|ideas?|examples?|tips?|reasons?|ways?|"
    r"questions?|names?|facts?|steps?|things?|suggestions?|options?|titles?|jokes?|slogans?|"
    r"entries|entry|rows?|headlines?|taglines?|stories|poems?|faqs?|statements?|flashcards?|riddles?|clues?|"
    r"prompts?|icebreakers|quotes?|puns?|exercises?|criteria|(?:word )?problems",
}
_UNIT_ALT = "|".join(f"(?P<{k}>{v})" for k, v in _UNITS.items())
_COUNT = re.compile(
    rf"\b(?:(?P<low>{NUMBER})(?:\s*(?:-|–|to|or|and)\s*(?P<high>{NUMBER}))?(?P<plus>\+)?|(?P<article>(?:an? )?half(?: an?)?|an?))"
    rf"[ -](?:[a-z]+[ -]){{0,2}}?(?:{_UNIT_ALT})\b",
    re.IGNORECASE,
)
"""A count and its unit: "three sentences", "1000-1250 words", "between 200 and 300 words", and "a
sentence / a paragraph / a page" (``article``: one, or a half in "half a page", for those prose units
only)."""
_ARTICLE_UNITS = frozenset({"sentence", "paragraph", "page"})
_OF_WORDS = re.compile(rf"\s+of\s+(?:[a-z]+\s+){{0,2}}?{NUMBER}\s+words\b", re.IGNORECASE)
"""After "a paragraph": its size in words ("a paragraph of about 150 words", "a sentence of 25 words")."""
_SIZE_WORD = re.compile(r"\b(?:short|brief|quick|long|detailed|lengthy|concise)\b", re.IGNORECASE)
"""A size word in "a short paragraph", "a long paragraph": the relative request reads it instead."""
_I_NEED = (
    r"(?:i|we)(?:(?:'d| would)? (?:just |only |really )?(?:need|want|like)|(?:'d| would) (?:really )?love)"
)
"""A first-person request: "I need", "we'd like", "I just need", "I'd love"."""
_ARTICLE_LEAD_IN = re.compile(
    r"\b(?:in|within|using|of|under|about|around|roughly|approximately|at most|no more than|no longer than|"
    rf"up to|just|only|{_I_NEED}|"
    r"(?:write|compose|draft|produce|create|generate|give|provide|put together)(?: me| us)?)\s*$",
    re.IGNORECASE,
)
"""What may come before "a sentence" for it to set the answer's length ("in a sentence", "write a
paragraph"), not "summarize a page of text" or "given a sentence"."""
_ARTICLE_APPROX = re.compile(r"\b(?:about|around|roughly|approximately)\s*$", re.IGNORECASE)
"""Before "half a page" set off by commas: the output verb may open the sentence, not the clause."""
_ARTICLE_OPENS_REQUEST = re.compile(r"\s+(?:on|about|explaining|describing|covering|summari[sz]ing)\b", re.I)
"""After "Half a page" opening a sentence: the topic it asks about ("Half a page on Greek tragedy")."""
_MEASURES = (
    r"cups?|tbsps?|tablespoons?|teaspoons?|tsps?|grams?|g|kgs?|pounds?|lbs?|ounces?|oz|liters?|litres?|ml|"
    r"hours?|hrs?|minutes?|mins?|seconds?|secs?|days?|weeks?|months?|years?|yrs?|am|pm|o'clock|dollars?|"
    r"euros?|bucks|"
    r"people|persons?|kids|children|guests|employees|friends|miles?|km|meters?|metres?|feet|foot|"
    r"inches|percent|pieces?|slices?|eggs?|servings?|copies|tickets?|rooms?|seats?|"
    r"bedroom|bathroom|star|door|speed|seater|"
    r"and|or|plus|minus|times|divided|multiplied|squared|cubed|of us|of them"
)
"""Nouns after a count that measure a quantity rather than name the answer's items ("I need 3 cups of
flour", "we are 5 friends"), and words that make the count arithmetic ("What are 2 and 3 added?")."""
_ITEM_NOUN_AHEAD = rf"(?=\s+(?!(?:{_MEASURES})\b)[\"'“‘]?[a-z])"
_HEDGE = r"(?:(?:like|about|around|maybe|roughly|some|at least|exactly|only|just|another)\s+)?"
_LIST = re.compile(
    r"(?:(?:\b(?:list(?:ing)?|nam(?:e|ing)|giv(?:e|ing)(?: me)?|write(?: me)?|provid(?:e|ing)|generate|suggest(?:ing)?|"
    r"(?:(?<=^)|(?<=[.!?\n]\s)|(?<=please\s))make|make me|draft|design|produce|"
    r"outline|recommend(?:ing)?(?: me)?|tell me|shar(?:e|ing)|create|prepare|brainstorm|come up with|put together|"
    r"make up|compile|pick|choose|offer|an? (?:[\w-]+ )?list of)|(?:^|[.?!:\n]\s*)(?:what|which)(?:\s+(?:are|r|were|would be))?)"
    rf"\s+{_HEDGE}(?:the\s+)?(?:(?:top|best|main)\s+)?|"
    rf"(?:\b(?:I|we)\s*|(?:^|[.?!:\n]\s*|\s[-–—]\s*))(?P<need>need|want|'d like|would like)\s+{_HEDGE})"
    rf"(?P<n>{NUMBER})\b(?![-‐]\w|[.)](?:\s|$)){_ITEM_NOUN_AHEAD}",
    re.I,
)
"""A list asked by its count: "list 50 …", "name the three …", "give me the top 10 …", "recommend me
five …", "I need 6 songs …", "Which 7 cities …", and a question that opens "What are (the) five …"
("What are four ways to save money?"); not a measured quantity ("I need 3 cups of flour")."""
_FOLLOW_UP_COUNT = re.compile(
    r"(?:^|[.?!:;,\n—–-]\s*)(?:(?:please\s+)?(?P<ask>give me|list|say|keep it to|top|just|need|i'?d like|make it)\s+)?"
    r"(?:(?P<hedge>like|about|around|maybe|roughly|at least|exactly|only|just)\s+)?"
    rf"(?P<n>{NUMBER})(?P<tail>(?:\s+(?:or so|of them|would be (?:great|enough|good|perfect|nice|fine)|"
    r"(?:is|are) (?:enough|fine|plenty)|(?:good |great )?(?:options|ones|ideas)|max|tops|please|pls|plz))*)"
    r"\s*[.!?]*\s*$",
    re.I,
)
"""A count closing a request for things it named before: "… names for my bakery? Give me 10.", "… at
least 10", "Like 15 options, the weirder the better" (the clause after it is allowed by
:func:`_follow_up_list`), "Six would be great.", "top 4 pls"."""
_ASKS_FOR_SEVERAL = re.compile(
    r"\bsome\b|\b(?:ideas|options|suggestions|recommendations|examples)\b|"
    r"\b(?:best|top|good|great|favou?rite)\s+(?:[\w-]+\s+){0,2}[a-z]+s\b",
    re.I,
)
_DATA_BLOCK = re.compile(r"\n\s*[A-Z][\w ]{0,20}:")
"""A line that opens the task's data ("Input: …", "Context: …"): the request ends before it."""
_FOLLOW_UP_SPAN = 100
"""Characters at the end of a request where a closing count (:data:`_FOLLOW_UP_COUNT`) is looked for."""
_OPENING_LIST = re.compile(
    rf"^\s*(?:(?:the\s+)?(?:top|best)\s+)?(?P<n>{NUMBER})\s+(?:[\w'-]+\s+){{0,3}}?"
    rf"(?!(?:{_MEASURES})\b)[a-z][\w-]*s(?=\s*\?|\s+(?:for|about|on|to|that|please|i|you|we)\b)",
    re.I,
)
"""A prompt that opens with the list it asks for: "5 tips for better sleep", "Top 4 features to look for
in a password manager?", "100 random fantasy character names please"."""
_ONE_WORD = re.compile(
    r"\b(?:in|with|w/?|using|answer in|reply in|respond in)\s+(?:one|a single|1)\s+word\b|"
    r"\bone[- ]word (?:answer|reply|response)\b|\bin a word\b|\bsingle[- ]word\b|"
    r"(?:[?.!:\-–—]|^)\s*(?:in )?(?:one|a single|1) word(?: only| answer| please| pls| plz)?\s*[.!?]*\s*$|"
    r"(?:[?.!:\-–—]|^)\s*(?:in )?(?:one|a single|1) word (?:only|answer|please|pls|plz)\s*[,;]\s",
    re.IGNORECASE,
)
_FEW_WORD_ANSWER = re.compile(
    r"\b(?P<n>two|three|four|five|2|3|4|5)[- ]word (?:answer|reply|response|title|name|summary)\b",
    re.IGNORECASE,
)
""""Two-word answer: …", "a three-word title": an answer of that many words."""
_ONE_LINER = re.compile(r"\bone[- ]liner\b", re.IGNORECASE)
""""Give me a one-liner": a line of text (not "one-liners", a list of them)."""
_ONE_LINE_ANSWER = re.compile(
    r"\b(?:in|as|with) (?:a|one) one[- ]line (?:answer|reply|response|summary|description|explanation|definition)\b"
    r"(?!\s+(?:of|for|to) (?:each|every|all)\b)",
    re.IGNORECASE,
)
""""In a one-line answer, what's …": a line of text."""
_ONE_PAGER = re.compile(r"\bone[- ]pager\b", re.IGNORECASE)
""""We need a one-pager": a page."""
_YES_NO_PAIR = r"(?:yes[\"']?\s*(?:or|/)\s*[\"']?no|true[\"']?\s*(?:or|/)\s*[\"']?false)"
_YES_NO = re.compile(
    rf"\b(?<!allowed to )(?<!supposed to )(?<!only to )(?<!able to )"
    rf"(?:answer|reply|respond|output|say|just|only|simply)(?: to (?:the|this)(?: following)? \w+)?"
    rf"(?: with| in)?(?: only| just| solely| simply| nothing but| nothing other than)?(?: a| either)?(?: simple| plain| single)?:?\s*"
    rf"[\"']?{_YES_NO_PAIR}\b|"
    rf"\b(?:answer|reply|respond|output)(?: with)?(?: only| just| solely)? [\"']?(?:yes|true)[\"']? if\b|"
    rf"(?<!\bto )(?<!\bshould )(?<!\bmust )(?<!\bwill )(?<!\bcan )\breturn (?:only |just )?[\"'](?:yes|true)[\"'] or "
    rf"[\"'](?:no|false)[\"']|"
    rf"\byes[/ -]or[/ -]no (?:answer|question)\b|^\s*{_YES_NO_PAIR}\s*(?:[:?]|[-–—]\s)|"
    rf"(?:[?.!:,]|^)\s*\(?\s*{_YES_NO_PAIR}\s*(?:only|please)?(?:\s*(?:\?|\.|!|\)|$)|[ \t]*\n|\s{{2,}})|\(y/n\)|^\s*y/n\s*:|\by/n\s*[?.!]?\s*$",
    re.IGNORECASE,
)
"""Asking for yes or no: "Answer yes or no", "reply with a simple yes or no", "True or false: …", "Yes or
no: …", and the choice as a sentence or clause of its own after the question ("Is X? Yes or no.", "Is X,
yes or no?", "… (yes/no)")."""
_ANSWER_NOUNS = (
    r"answers?|responses?|reply|replies|summary|summaries|explanations?|overview|description|"
    r"introduction|paragraph|note|message|version|bio|statement|definition|intro|outline|recap|"
    r"synopsis|comment|email|text|post|update|list|rundown|take|primer|talk|speech|toast|pitch|blurb"
)
_BRIEF = re.compile(
    rf"\b(?:briefly|concise(?:ly)?|succinct(?:ly)?|terse(?:ly)?|in short(?!,? (?:i|i'm|i've|we|we're|my|our)\b)|tl;?dr|summari[sz]e? in a few|"
    rf"(?:be|keep (?:it|them|this|(?:your |the |all )?(?:answers?|replies|responses))|short and|brief and) (?:brief|short)|"
    rf"in a (?:brief|short) (?:manner|way|form)|"
    rf"in a nutshell|short and sweet|just the gist|nothing (?:too )?long(?=\s*[,.;!]|\s*$)|make (?:it|this) (?:much |a bit |a lot |way |even )?shorter|shorter,? please|shorten it|(?:explain|describe|tell|answer|summari[sz]e)(?: me| us| it| this)? shortly|no (?:further |additional )?explanations?(?: needed| necessary| required)?|"
    rf"without (?:any )?(?:explanations?|elaboration)|(?:do not|don't) (?:explain|elaborate)|"
    rf"(?:brief|short|quick),?(?:\s+\w+)?\s+(?:{_ANSWER_NOUNS})\b(?!\s+(?:of|for) (?:each|every|all)\b))\b",
    re.IGNORECASE,
)
"""Asking for a short answer ("briefly", "be concise", "a short summary", "no explanation"), not "a short
story" (a genre) or "a brief description of each" (the length of every item)."""
_DETAILED = re.compile(
    r"\b(?:detailed|in[- ]depth|comprehensive|thorough(?:ly)?|elaborate|exhaustive|extensive|"
    r"(?:go|get) into (?:much |far |way |a lot )?(?:as much|great|full|a lot of|more|greater) (?:detail|depth)|long[- ]form|at length|lengthy|go deep(?:er)?|"
    r"take (?:all )?the (?:space|room|time) you need|(?:explain|describe)(?: me| us)? (?:very |really |super )?deep(?:ly)?|expand (?:it|this|that) into (?:an? )?(?:longer|fuller|full|bigger|more detailed)|"
    r"(?:make|need) (?:it|this) (?:much |a bit |a lot |way |even )?longer)\b",
    re.IGNORECASE,
)
_DETAILED_GOVERNED = re.compile(
    r"\bin (?:(?:great|full|more|much|greater|considerable|extensive|exhaustive|rich|vivid|as much) )?detail\b|"
    r"\bin (?:as much|more|great|full|greater) depth\b|\bextensively\b|"
    r"\b(?:the )?longest (?:possible )?(?:essay|answer|response|story|article|text)\b|"
    r"\b(?:an? )?(?:very |really )?long(?:,? [\w-]+){0,2}? (?:essay|story|article|answer|response|explanation|letter|report|"
    r"blog post|post|description|text|poem)\b",
    re.IGNORECASE,
)
""""In (great) detail", "a long essay": a request for a longer answer when an output verb governs it
("Explain in detail how …", "write a long story"), not "described in detail below" or "a long list"."""
_FULL_CODE = re.compile(
    r"\b(?:full|complete|entire|whole|working)\s+(?:\w+\s+)?(?:program|code|script|implementation|"
    r"application|app)\b",
    re.IGNORECASE,
)
_OUTPUT_VERBS = (
    r"write|give|list|generate|provide|create|compose|suggest|name|make|draft|produce|describe|"
    r"summari[sz]e|sum up|sum (?:it|this|that|these|those|them|everything) up|explain|tell|answer|reply|respond|come up with|brainstorm|share|offer"
)
_SIZE_PREPOSITIONS = (
    r"in|within|using|with|under|sub-?|below|at most|no more th[ae]n|no longer than|less than|fewer than|"
    r"shorter than|up to|about|around|roughly|nearly|approximately|approx\.?|ca\.|exactly|maximum(?: of)?|max|"
    r"at least|maybe|perhaps|ideally|in like|something like"
)
"""Before a count they make it the answer's size, whatever follows ("in 50 words for a child")."""
_ANSWER_SUBJECT = (
    r"(?:it|this|that|they|your\s+[\w-]+(?:\s+[\w-]+)?|the\s+(?:answer|response|reply|output|result|text|"
    r"essay|article|story|post|piece|summary|letter|email|report|speech|poem|paper|guide|description|bio|"
    r"draft|blurb|copy|introduction|intro|review|script|whole thing|entire thing)s?)"
)
_REQUIREMENT = (
    rf"(?:(?<=[.!?:;\n] )|(?<=[.!?:;\n])|{_ANSWER_SUBJECT}\s+)(?:should|must|shall|needs? to|has to|have to|ought to)(?: not)? "
    r"(?:be|have|contain|include|consist of|comprise|span|total)|"
    r"there (?:should|must|shall|needs? to|has to) be|make (?:it|this|them|the \w+)|"
    r"aim for|shoot for|target|cap (?:it|this|the \w+) at|min\.|minimum|"
    r"(?:(?<=[.!?:;\n] )|(?<=[.!?:;\n])|^|\b(?:please|you|now|then|and)\s+)"
    r"(?:cut|shorten|trim|reduce|condense|expand|extend|lengthen)(?: (?:it|this|that|them|the \w+))?(?: down)? to"
)
"""A length stated as a requirement on the answer: "It should be 700 words.", "Your response should
contain 4 paragraphs.", "There should be 3 paragraphs.", "Make it 120 words.", "Aim for 500 words.",
"Cap it at 100 words.", "Min. 400 words." (not "subject lines should be 50 characters": the answer
must be what has to be so long)."""
_NOT_OVER = (
    r"(?:should|must|can|may|does|do|will)(?:n't| not) (?:be )?(?:longer|more|over)(?: than)?|"
    r"(?:should|must|can|may|does|do|will)(?:n't| not) exceed|(?:don't|do not|never) (?:go|run) (?:over|past|beyond)"
)
"""A bound stated as a requirement: "It shouldn't be longer than 200 words", "must not exceed"."""
_PLAIN_ADJECTIVE = (
    r"(?: (?:quick|short|brief|simple|fun|easy|detailed|full|complete|basic|sample|practice|little))?"
)
"""An adjective that may stand between an output verb and a count it governs ("write a quick 5-question poll")."""
_LEAD_IN = re.compile(
    rf"(?:\b(?:{_SIZE_PREPOSITIONS}|{_REQUIREMENT}|of|over|into|more than|minimum of|only|just|"
    rf"not (?:to )?exceed(?:ing)?|{_NOT_OVER}|"
    rf"(?:limit|keep)(?:ed)?(?: it| this| yourself| (?:your|the|my) [\w-]+)? to|"
    rf"cap(?:ped)?(?: it| this| (?:your|the|my) [\w-]+)? at|(?:response|answer|reply|output|token|word|length) "
    rf"(?:budget|limit|cap) is|"
    rf"(?:length|word count|word limit|target length|size|limit)\s*:)|~|<=?|≤|>=|≥|"
    rf"\b(?:{_OUTPUT_VERBS})(?: (?:for )?me| (?:for )?us)?(?: back)?(?: with)?(?: an?| the)?{_PLAIN_ADJECTIVE}|"
    rf"(?:^|[.!?:\n]\s*)(?:return|output)(?: only| just| exactly)?|"
    rf"\b{_I_NEED}(?: an?)?)\s*$",
    re.IGNORECASE,
)
_TAIL = re.compile(
    r"^\s*(?:or (?:less|fewer|so|more|under)|give or take\b|max(?:imum)?\b|tops\b|at most\b|long\b|in length|"
    r"each\b|\))",
    re.I,
)
"""After a count, what makes it the answer's length ("50 words or fewer", "20 words tops"). A bound
after the count is not scaled as one before it is: on the data, "in 200 words or less" is answered
with 229 words, "5 sentences or less" with 86 words (90 asked)."""
_ADJECTIVE_COUNT = re.compile(
    r"[\w,.+]-(?:word|sentence|paragraph|para|page|line|token)\b|\+ (?:word|sentence|paragraph|para|page|line|token)\b|"
    r"(?<!\bone)(?<!\bsingle)(?<!\b1)(?<!\ba)(?<!\ban)\s(?:word|sentence|paragraph|para|page|line|token)$",
    re.IGNORECASE,
)
"""A count used as an adjective: "a 200-word summary", "a 2-3 sentence bio", "a 1000 word essay"."""
_GOVERNED = re.compile(
    rf"(?:(?:^[\s'\"\u2019\u201d)\]]*(?:(?:yo|hey|hi|hello|ok|okay|so|pls|plz|also|now)[,!]?\s+)?|\b(?:and|then|please|you|u|you to|me to)\s+)"
    rf"(?:{_OUTPUT_VERBS}|prepare|craft|draft|develop|put together|(?<=you )do)"
    rf"(?: me| us)?|(?:^\s*(?:need|want)|\b{_I_NEED})(?: (?:you to )?(?:{_OUTPUT_VERBS}))?(?! to\b)|"
    rf"\b(?:i|we) (?:have|need) to (?:write|submit|hand in|turn in|give|deliver))"
    rf"(?:\s+[\w'-]+){{0,3}}\s*[~≈]?\s*$",
    re.IGNORECASE,
)
"""An output verb that opens the clause ("Write", "and write", "I want you to write"), or a request
("I need a 3,500-word report", "I'd like a …"), at most three words before the count: not one in a
purpose clause ("list the steps to write a 10-page essay")."""
_CLAUSE_VERB = re.compile(
    rf"\b(?:{_OUTPUT_VERBS}|discuss|analy[sz]e|elaborate|cover|outline|(?:walk|take|talk) (?:me|us) through|go over|"
    rf"prepare|craft|draft|develop|compose|need|want|rewrite|rephrase|paraphrase|condense|shorten|translate|"
    rf"recommend|turn|convert|transform|(?:'d|would) (?:really )?love)\b",
    re.IGNORECASE,
)
_SHORT_NOUNS = (
    r"number|numeral|digit|integer|name|word|letter|value|year|date|label|category|score|rating|"
    r"answer|result|option|choice|title|symbol|abbreviation|acronym|initials|emoji|percentage|amount|total|"
    r"sum|price|city|country|colou?r|tag|verdict|intent|string|character|e-?mail address|url|phone number|"
    r"grade|class|sentiment|language code|code word|id|identifier|"
    r"(?:iso|alpha-?[23]|two-letter|three-letter|country|currency|airport|iata|icao|ticker|hex|postal|zip)"
    r"(?:[ -][\w-]+){0,3}? code"
)
_SHORT_VERB = (
    r"\b(?:respond|reply|answer|answr|output|return|give(?: me| us)?|say|write|provide|state|react)(?: back)?"
    r"(?: to (?:this|that|the|my) \w+)?"
)
_NOT_OF_EACH = r"(?!\s+of\b(?!\s+(?:the|this|that|these|those)\b))"
"""After a closed answer's noun: "the name of the person" is a name, "a list of …" or "the title of each" is not."""
_SHORT_ANSWER = re.compile(
    rf"{_SHORT_VERB}(?: with| w/?)? (?:only|just|jus|solely|simply) (?:with )?(?:a single|one single|a|an|the|one|that) "
    rf"(?:final |[a-z]+ )?(?:{_SHORT_NOUNS})\b(?!\s*(?:count|list|for|per|to|that|which|who)\b){_NOT_OF_EACH}|"
    rf"{_SHORT_VERB} with (?:the|a|an|one) (?:exact|single|correct|right|matching) (?:{_SHORT_NOUNS})\b|"
    rf"{_SHORT_VERB}(?: with)? (?:only |exactly )?(?:one of(?: the following| these| the)?(?: \w+)?|one of)\s*:|"
    rf"{_SHORT_VERB}(?: with)? (?:exactly |only |just )?(?:a single|one single|one) (?:[a-z_]+ )?(?:{_SHORT_NOUNS})\b"
    rf"(?!\s*(?:count|list|of|for|per|to|that|which|who)\b)|"
    rf"{_SHORT_VERB} with (?:a single|one single|a|an|one|the) (?:{_SHORT_NOUNS})\b"
    rf"(?!\s*(?:count|list|for|per|to|that|which|who)\b){_NOT_OF_EACH}|"
    rf"{_SHORT_VERB}(?: with)? (?:the|a|one|your) (?:single |final |[a-z]+ )?(?:{_SHORT_NOUNS})"
    rf"(?: (?:only|alone)\b|(?: (?:of|for) (?!each\b|every\b|all\b)[^,.;:\n]{{1,40}}?)?,? (?:and )?nothing (?:else|more)\b)|"
    rf"{_SHORT_VERB}(?: with)? (?:nothing but|nothing other than) (?:the|a|an|one|your) (?:single |final |[a-z]+ )?"
    rf"(?:{_SHORT_NOUNS})\b|"
    rf"(?:^|[.?!:;,\n][\"'”’)]?\s*)(?:just|jus|only)(?: (?:give|tell|say|write|output|return)(?: me| us)?)? "
    rf"(?:the|a|one) (?:single |final |[\w-]+'s )?(?:{_SHORT_NOUNS})\b(?!\s*(?:of|for|per|to|that|which|who)\b)|"
    rf"(?:^|[.?!:;\n\-–—]\s*)(?:the )?(?:[a-z]+ )?(?:{_SHORT_NOUNS}) only(?:,? (?:nothing else|no explanation|no other text))?"
    rf"\s*(?:[.!](?=\s|$)|$|(?=\s{{2,}}|\n))|"
    r"\b(?:respond|reply|answer|(?<!\bto )say)(?: with)?(?: only| just)? [\"\u201c'\u2018][^\"\u201d'\u2019\n]{1,24}"
    r"[\"\u201d'\u2019](?:\s+(?:and nothing (?:else|more)|only))?\s*(?:[.!]|$)|"
    r"\b(?<!allowed to )(?<!supposed to )(?<!able to )"
    r"(?:respond|reply|answer|output|classify)(?: (?:it|this) as| with| your \w+ as)?(?: only| just)?:? "
    r"(?:[\"']?[\w-]+[\"']?,? ){1,4}or [\"']?[\w-]+[\"']?\s*(?:only|(?:,|with|and) nothing (?:else|more))?"
    r"(?:\s*[-–—,;]\s*no (?:explanation|other text|commentary))?\s*(?:[.!]|$)|"
    r"\b(?:respond|reply|answer|output)(?: with| your \w+ as)?(?: only| just)?:? [\"\u201c'\u2018][^\"\u201d'\u2019\n]{1,24}"
    r"[\"\u201d'\u2019] or [\"\u201c'\u2018][^\"\u201d'\u2019\n]{1,24}[\"\u201d'\u2019]"
    r"\s*(?:only|(?:,|with|and) nothing (?:else|more))?\s*(?:[.!]|$)|"
    r"\b(?:respond|reply|answer|output|return)\b[^.\n]{0,40}\b(?:in|as) (?:the )?(?:yyyy-mm-dd|dd/mm/yyyy|mm/dd/yyyy|iso[- ]8601)"
    r"(?: format)?,? (?:only|and nothing else|nothing else)\b|"
    r"^[ \t]*(?:[-*•]\s*)?(?:output|response|answer|reply)(?: format)?\s*:\s*[<\[{][\w ]{1,20}[>\]}][ \t]*$",
    re.IGNORECASE | re.MULTILINE,
)
"""Asking for an answer of a word or so: "respond with just a number", "answer with a single letter",
"reply only with the final answer", "… Just the name.", 'Reply with just "OK".', "Reply positive,
negative, or neutral." (not "write the answer to each question")."""
_IN_A_FORM = re.compile(r"\b(?:in|as|into)(?: an?| one)?\s*$", re.IGNORECASE)
"""Before "a haiku" in "describe the sea in a haiku", "write it as a tweet", "turn this into a tweet"."""
_WORD_COUNT_LABEL = re.compile(
    rf"\b(?P<label>word count|word limit|number of words|token limit|token count|number of tokens|token budget|word budget)"
    rf"(?:\s+for (?:the|your) (?:answer|response|reply|output))?(?:\s*[:=]\s*|\s+(?:of\s+)?)(?P<n>{_DIGITS})\b",
    re.IGNORECASE,
)
_FORM = re.compile(
    rf"\b(?:(?P<n>{NUMBER})[ -])?(?:(?:short|little|funny|simple|original|new) )?"
    rf"(?P<form>haiku|limerick|sonnet|tweet)s?\b",
    re.IGNORECASE,
)
"""A fixed-form text ("write a haiku", "compose three limericks", "draft a tweet"): its usual length."""
_SPEECHES = (
    r"speech|talk|presentation|toast|eulogy|monologue|sermon|pitch|keynote|lecture|podcast script|video script|"
    r"voice-?over|radio (?:ad|spot)|commercial|bedtime story"
)
_SPOKEN = re.compile(
    rf"\b(?P<n>{NUMBER})[ -](?P<unit>minutes?|mins?|seconds?|secs?)[ -](?:long )?(?:[\w'-]+ ){{0,2}}?(?:{_SPEECHES})\b|"
    rf"\b(?:{_SPEECHES})\b[^!\n]{{0,80}}?\b(?P<n2>{NUMBER})[ -](?P<unit2>minutes?|mins?|seconds?|secs?) long\b|"
    rf"\b(?:{_SPEECHES})\b[^?!\n]{{0,120}}?\b(?P<n3>{NUMBER})[ -](?P<unit3>minutes?|mins?|seconds?|secs?)"
    r"(?: long)? (?:when (?:spoken|read|said|delivered)|to (?:say|read|deliver)|(?:read )?(?:out loud|aloud))\b",
    re.IGNORECASE,
)
"""A speech's length in minutes or seconds: "a 5-minute speech", "a 5-minute Toastmasters speech", "a
90-second video script", "a eulogy, about five minutes long", "a toast … About 2 minutes when spoken",
"an elevator pitch … It should take about 30 seconds to say out loud"."""
_BETWEEN = re.compile(r"\b(?:between|from)\s*$", re.IGNORECASE)
"""Before a range ("between 200 and 300 words"); before a single count it is the task's data
("the distance between two points", "a dialogue between two characters")."""
_SET_ASIDE = re.compile(
    r"\b(?:ignore|forget|disregard|drop|skip|never ?mind)(?: about)? (?:the|that|your|my)\s*$", re.I
)
"""Before a count whose rule the request sets aside: "Ignore the one-sentence rule for this one"."""
_EACH = re.compile(r"\b(?:each|every)\b", re.IGNORECASE)
_QUOTED = re.compile(
    r"\"[^\"\n]{1,300}\"|\u201c[^\u201d\n]{1,300}\u201d|(?<!\w)'(?:[^'\n]|'(?=\w)){1,300}?'(?!\w)"
)
"""A quoted passage; inside single quotes an apostrophe ("you'll") does not close it."""
_QUOTES = {'"', "'", "\u201c", "\u2018"}
_FOR_EACH = re.compile(r"\b(?:for|to|of) (?:each|every|all (?:the|of the|these|those))\b", re.IGNORECASE)
"""A per-item instruction ("for each question, answer with a single letter"): many short answers."""
_PREPOSITION_LEAD_IN = re.compile(rf"\b(?:{_SIZE_PREPOSITIONS})\s*$", re.IGNORECASE)
_LIST_OF = re.compile(r"\b(?:list|set|series|collection|group|pair|couple|string|sequence)\s+of\s*$", re.I)
_WORDS_AS_OBJECTS = re.compile(
    r"\s+(?:that|which|to|for|where|describing|related|starting|beginning|ending|with|from|rhyming|"
    r"meaning|associated|in alphabetical)\b",
    re.IGNORECASE,
)
"""After "generate 5 words": the words are the answer's items ("5 words that rhyme with cat")."""
_FILLER_NOT_UNIT = re.compile(r"\b(?:million|billion|trillion|percent|times)\b", re.IGNORECASE)
"""Words between a number and a unit that make it a quantity of data ("5 million rows")."""
_WORD_COMPOUND = re.compile(
    r"[ -](?:problems?|games?|search(?:es)?|puzzles?|clouds?|banks?|scrambles?)\b", re.I
)
"""After "N word": a compound noun ("15 word problems", "3 word games"), not a count of words."""
_AT_MOST = re.compile(
    rf"(?:under|sub-?|below|at most|no more th[ae]n|no longer than|(?<!\bno )(?<!\bnot )(?:less|fewer) than|"
    rf"shorter than|up to|maximum(?: of)?|max|not (?:to )?exceed(?:ing)?|{_NOT_OVER}|"
    rf"(?:limit|keep)(?:ed)?(?: \w+){{0,2}} to|cap(?:ped)? (?:it|this|(?:the|your|my) \w+) at|(?:word )?limit\s*:|<=?|≤)\s*$",
    re.I,
)
_CLAUSE_OPENER = re.compile(r"(?:[,;:]|\s[-–—])\s*$")
_CLAUSE_CLOSER = re.compile(
    r"\s*(?:(?:please|pls|plz|thanks|thx|max(?:imum)?|min(?:imum)?|tops|or so|is (?:fine|enough|plenty|ok|okay|good)|would be (?:great|good|nice|ideal|perfect))\b"
    r"\s*)?(?:[.!?;,\n]|$)",
    re.IGNORECASE,
)
_TEXT_NOUNS = (
    r"essay|article|story|report|blog post|post|letter|speech|poem|summary|review|paper|guide|description|"
    r"bio|chapter|caption|tagline|headline|email|message|note|memo|cover letter|statement|proposal|abstract|"
    r"introduction|intro|newsletter|announcement|script"
)
_TASK_OPENER = re.compile(
    rf"[\s'\"\u2019\u201d)\]]*(?:please\s+)?(?:(?:can|could|would|will) you\s+(?:please\s+)?)?"
    rf"(?:(?:{_OUTPUT_VERBS}|prepare|craft|draft|develop)\b|{_I_NEED}\b|"
    rf"(?:an? |the )?(?:[\w'-]+ ){{0,2}}(?:{_TEXT_NOUNS})\b)",
    re.IGNORECASE,
)
"""What opens a sentence that asks for a text: an output verb ("Write …"), a request ("I need …") or
the text's name ("Essay on war")."""
_TEXT_THEN_COUNT = re.compile(
    rf"^\s*(?:please\s+)?(?:(?:{_OUTPUT_VERBS})\s+(?:me\s+)?)?(?:an? |the )?(?:[\w'-]+ ){{0,2}}?(?:{_TEXT_NOUNS})\s*$",
    re.IGNORECASE,
)
"""A sentence that names the text just before its count: "essay 2000 words about war"."""
_RATE = re.compile(
    r"\s+(?:per|a|an|every)\s+(?:page|minute|day|line|slide|hour|week|second|post|month)\b", re.I
)
_LIST_MARKER = re.compile(r"\s*(?:\d{1,2}[.)]|[-*•])\s")
"""A line that is an item of a numbered or bulleted list."""
_WEAK_LEAD_IN = re.compile(r"(?<!minimum )(?<!maximum )(?<!total )\b(?:of|over)\s*$", re.IGNORECASE)
"""Lead-ins that make a count the answer's only with an output verb in its clause ("write a poem of 12
lines", not "6 stanzas of 6 lines")."""
_DATA_PREPOSITION = re.compile(
    r"\b(?:with|of|over)(?:\s+(?:about|around|roughly|approximately|nearly|almost|just|only|some))?\s*$",
    re.IGNORECASE,
)
_REQUEST_IN = re.compile(rf"\b{_I_NEED}\b", re.IGNORECASE)
"""A request inside a sentence: "… but first I just need an outline, 6 bullet points."."""
_NEED_THEN_COUNT = re.compile(r"\s*(?:please\s+)?(?:need|want)\s+(?:an?\s+)?", re.IGNORECASE)
"""A sentence that opens with the request: "Need 300 words on …"."""
_COUNT_THEN_TEXT = re.compile(rf"\s*(?:[\w'-]+\s+)?(?:{_TEXT_NOUNS})\b", re.IGNORECASE)
"""After a count that opens a sentence: the text it sizes ("500 word essay on dogs", "3 para essay")."""
_DESCRIBES = re.compile(
    r"(?:(?<!budget )(?<!limit )\b(?:is|was|are|were|has|had|(?<!should )(?<!must )(?<!would )(?<!will )(?<!to )run|runs|ran|contains|"
    r"contained)|'s)"
    r"(?: (?:about|around|roughly|approximately|over|under|nearly|almost|just|only|currently|now|already|at))*\s*$|"
    r"\b(?:my|our|his|her|their)\s*$|"
    r"\b(?:stops?|stopped|stopping|cuts? off|cutting off|ends?|ended|ending|truncated|truncates)"
    r"(?: (?:at|around|about|after|near|roughly))+\s*$|"
    rf"\b(?:my|our|his|her|their)\s+(?:[\w'-]+\s+){{0,2}}(?:{_TEXT_NOUNS})\s*\(\s*(?:about|around|roughly|approx\.?|~)?\s*$|"
    rf"\b(?:is|are|was|were|has|had|have|contains?)\s+(?:{NUMBER}|several|many)\s+(?:[\w-]+\s+){{0,2}}?"
    r"(?:of|at|with)\s+(?:about|around|roughly|approximately|nearly|~)?\s*$|"
    r"\b(?:we|i|they|he|she) (?:wrote|drafted|made|got|received|collected)\b,?\s*(?:about|around|roughly|~)?\s*$",
    re.IGNORECASE,
)
"""Before a count that describes a text that exists: "The article below is about 3,000 words.", "mine's
currently at about 900 words", "my 900-word blog post", "my college essay (about 120 words)", "The
report has 3 sections of ~500 words each", "48 pages at roughly 350 words per page", "3 product
descriptions we wrote, about 60 words each"."""
_OTHER_REQUIREMENT = re.compile(
    r"\b(?:the|a|an|each|every|these|those|my|our|his|her|their)\s+(?:[\w-]+\s+){0,2}?"
    r"(?!(?:answers?|responses?|reply|replies|output|result|text|essay|article|story|post|piece|summary|letter|"
    r"email|report|speech|poem|paper|guide|description|bio|draft|blurb|introduction|intro|review|script|"
    r"thing)\b)[a-z]+\s+(?:must|should|shall|needs? to|has to|have to|can(?:not|'t)?)"
    r"(?: not)? (?:be|stay|run|exceed|have|contain)\b",
    re.IGNORECASE,
)
"""A rule on something other than the answer, in the count's clause: "the narrative section must be no
more than 15 pages" in a pasted e-mail (not "the essay must be at least 1,000 words", "it should be …")."""
_CONTRAST = re.compile(r"\b(?:but|however|though|yet|instead|for now)\b", re.IGNORECASE)
"""Where a sentence turns from what others want to what the user asks ("… wants a 2,000-word paper, but
for now just give me a thesis statement in one sentence")."""
_REPORTED = re.compile(
    r"\b(?:says|said|saying|wants|wanted|requires|required|asks|asked|told|tells|according to|claims|heard|"
    r"recommends|suggests|advises)\b|"
    r"\b(?:they|people|\w+s) (?:say|tell)\b|"
    r"\b(?:lets|allows|permits|gives) (?:us|you|me|them|users|sellers)\b|"
    r"\b(?:style guide|guidelines?|policy|convention|rules?|rubric|PRD|CFP|spec)\b",
    re.IGNORECASE,
)
"""In the sentence before a count (from its last turn, :data:`_CONTRAST`): someone else's rule ("My professor says our paper has to be 10 pages",
"the convention that subject lines should be 50 characters"), not the answer's length."""
_AT_LEAST = re.compile(
    r"(?:at least|over|more than|minimum(?: of)?|min\.?|(?:no|not) (?:fewer|less) than|>=|≥)\s*$", re.I
)


@dataclass(frozen=True)
class LengthRequest:
    """What a prompt asks for about its answer's length.

    Attributes:
        kind: ``"absolute"`` (a length in words), ``"relative"`` (a factor) or ``"none"``.
        requested_words: the asked-for length in words (absolute requests), else None.
        multiplier: the factor on the usual length (relative requests; 1.0 otherwise).
        unit: the unit named (``word``, ``sentence``, ``item``, ``yes_no``, ``brief``…), or ``""``.
        count: how many units, when the prompt says.
        text: the matched instruction.
        language: the prompt's language as read (ISO 639-1; ``"en"`` unless
            :mod:`sagepred.length_instructions_multilingual` read it); in Chinese and Japanese
            ``requested_words`` counts characters.
        item_kind: for a list (unit ``item``), the kind of its items as read
            (:func:`sagepred.list_sizes.list_kind`; ``""`` when not read).
    """

    kind: str = "none"
    requested_words: float | None = None
    multiplier: float = 1.0
    unit: str = ""
    count: float | None = None
    text: str = ""
    language: str = "en"
    item_kind: str = ""

    @property
    def is_absolute(self) -> bool:
        return self.kind == "absolute"

    def describe(self) -> str:
        """The reading in a few words: ``"1,500 words"``, ``"4 paragraphs (188 words)"``, ``"a word or
        so"``, ``"x0.5 (brief)"``; ``""`` for no request."""
        if self.kind == "relative":
            return f"x{self.multiplier:g} ({self.unit.replace('_', ' ')})"
        if self.requested_words is None:
            return ""
        if self.unit in SHORT_ANSWER_UNITS:
            return "a word or so"
        if self.unit == "token":
            return f"{self.requested_words * TOKENS_PER_WORD[None]:,.0f} tokens"
        in_characters = self.language in CHARACTER_LANGUAGES
        words = f"{self.requested_words:,.0f} {'characters' if in_characters else 'words'}"
        if self.unit == "word" or self.count is None or (self.unit == "character" and in_characters):
            return words
        if self.unit == "pasted_text":
            factor = "" if self.count in (None, 1.0) else f" x{self.count:g}"
            language = "" if self.language == "en" else f" in {self.language}"
            return f"the pasted text{factor}{language} ({words})"
        if self.unit == "form":
            return f"{self.text.strip().lower()} ({words})"
        if self.unit == "one_line":
            return f"one line ({words})"
        listed = self.unit in ("item", "items_of")
        unit = _ITEM_NAMES.get(self.item_kind, "item") if listed else self.unit.replace("_", " ")
        return f"{self.count:g} {unit}{'' if self.count == 1 else 's'} ({words})"

    def requested_tokens(self, tokenizer: str | None = None) -> float | None:
        """The asked-for length in the target's tokens (absolute requests), else None."""
        if self.requested_words is None:
            return None
        if self.unit in SHORT_ANSWER_UNITS:
            return SHORT_ANSWER_TOKENS
        if self.unit == "token":
            return max(1.0, self.requested_words * TOKENS_PER_WORD[None])
        if self.language != "en":
            per_word = (
                TOKENS_PER_WORD_BY_LANGUAGE.get(self.language) or TOKENS_PER_WORD_TRANSLATED[self.language]
            )
            return max(1.0, self.requested_words * per_word.get(tokenizer, per_word[None]))
        return max(1.0, self.requested_words * TOKENS_PER_WORD.get(tokenizer, TOKENS_PER_WORD[None]))


NO_REQUEST = LengthRequest()

_ITEM_NAMES = {"label": "short item", "point": "point", "question": "question"}
"""How :meth:`LengthRequest.describe` names a list's items by their kind ("30 items", "5 points")."""


def _unit_of(match: re.Match[str]) -> str:
    return next(k for k in _UNITS if match.group(k))


def _sentence_before(prompt: str, start: int) -> str:
    """The text from the start of ``start``'s sentence (after ``.?!`` or a line break) to it."""
    return re.split(r"[.?!\n]", prompt[max(0, start - 200) : start])[-1]


def _clause_before(prompt: str, start: int) -> str:
    """The text from the start of ``start``'s clause (after ``.?!;:``, a comma or a line break) to it."""
    before = prompt[max(0, start - 120) : start]
    return re.split(r"[.?!;:\n,]", before)[-1]


_EXISTING_TEXT = re.compile(
    r"\b(?:the|this|that|these|those|my|our|your|his|her|their|its)\s+$", re.IGNORECASE
)
_WRITES_TEXT = re.compile(
    r"\b(?:write|draft|compose|create|generate|produce|prepare|craft|develop|put together|make)\b",
    re.IGNORECASE,
)


def _governs_adjective_count(prompt: str, start: int) -> bool:
    """Whether an output verb opens the clause of a count used as an adjective, through a list of
    adjectives ("give me a thorough, 5000-word analysis") when the comma leaves a word or two; or the
    count opens its clause before the text's name ("500 word essay on dogs")."""
    clause = _clause_before(prompt, start)
    if _EXISTING_TEXT.search(prompt, max(0, start - 12), start) and not _WRITES_TEXT.search(clause):
        return False  # "Explain the one-word motto", "summarise my 300-page report": a text that exists
    if _GOVERNED.search(clause):
        return True
    count = _COUNT.match(prompt, start)
    if not clause.strip() and count is not None and _COUNT_THEN_TEXT.match(prompt, count.end()):
        return True  # the count opens its clause and names the text: "500 word essay on dogs"
    if len(clause.split()) > 2:
        return False
    before = prompt[max(0, start - 120) : start]
    sentence = re.split(r"[.?!;:\n]", before)[-1].replace(",", " ")
    return _GOVERNED.search(sentence) is not None


def _is_instruction(prompt: str, match: re.Match[str]) -> bool:
    """Whether a unit count sets the answer's length, not a count in the task's data.

    It must follow a lead-in ("in three sentences", "write 50 stories", "at most 100 words", "It
    should be …"), be followed by "or less", "long", "each"…, or stand as a clause of its own after
    the task (:func:`_stands_alone`); a compound ("a 200-word summary", "2-3 sentence") counts when an
    output verb opens its clause ("Write a comprehensive 2,000-word essay"), not when it describes the
    task's data ("the cost of 1000 copies of a 400-page book", "list the steps to write a 10-page
    essay"). A count that describes an existing text or someone else's rule is never the answer's.
    """
    before = prompt[max(0, match.start() - 40) : match.start()]
    text = match.group(0)
    field = field_of(prompt, match.start())
    if field is not None:  # "Length: approximately 120 words", "Input limit: at most 2000 characters"
        each = _EACH.match(prompt, match.end()) and not _PER_ANSWER.match(prompt, match.end())
        return field == "answer" and not _RATE.match(prompt, match.end()) and not each
    clause = _clause_before(prompt, match.start())
    sentence = _sentence_before(prompt, match.start())
    request = re.split(r"[:;]", sentence)[-1]  # "Ignore the one-sentence rule for this one: explain in …"
    each_thing = _each_thing_counted(prompt, match.start(), sentence) is not None  # "Each tweet under …"
    if (
        _DESCRIBES.search(before)
        or _REPORTED.search(_CONTRAST.split(request if _TASK_OPENER.match(request) else sentence)[-1])
        or (_OTHER_REQUIREMENT.search(clause) and not each_thing)
    ):
        return False  # "The article below is about 3,000 words", "agents say a novel should be …"
    if match.group("word") and _WORD_COMPOUND.match(prompt, match.end()):
        return False  # "write 15 word problems": a list of problems, not fifteen words
    if (parse_number(match.group("low") or "") or 0) >= 2 and _ONE_WORD_EACH.search(text):
        return False  # "10 one-word names": a list of ten names
    if _BETWEEN.search(before):
        return match.group("high") is not None
    if _SET_ASIDE.search(before):
        return False  # "Ignore the one-sentence rule for this one: explain in 3 paragraphs …"
    if _ADJECTIVE_COUNT.search(text) and not _bare_count_ends_clause(prompt, match):
        return _governs_adjective_count(prompt, match.start())
    if (
        _EACH.search(clause)
        and not _EACH_OF_THE.search(sentence)
        and not _EACH_ITEM_SENTENCE.match(sentence)
        and not each_thing
    ):
        return False  # "summarise each paragraph in one sentence": a length per item, not the answer's
    if match.group("article"):
        return True  # "a paragraph": its lead-in was read by _article_count_is_instruction
    if _FILLER_NOT_UNIT.search(text) or _words_are_the_answer_items(prompt, match, before):
        return False
    if before.rfind("(") > before.rfind(")") and not _TASK_OPENER.match(sentence):
        return False  # "microfiction (under 100 words)", "Apply with CV (max 2 pages)"
    line = prompt[prompt.rfind("\n", 0, match.start()) + 1 : match.start()]
    if _LIST_MARKER.match(line) and line.rfind("(") > line.rfind(")"):
        return False  # a list of the prompt's own: "1. Intro (300 words)", "4. review Jake's PR (about 600 lines)"
    sized_each = _EACH_NEAR.match(prompt, match.end())
    per_thing = sized_each is not None and _things_for_each(prompt, match, sized_each) is not None
    if _RATE.match(prompt, match.end()) and not per_thing:
        return False  # "350 words per page", "130 words per minute"
    bound_alone = _WEAK_LEAD_IN.fullmatch(sentence.strip() + " ") and _CLAUSE_CLOSER.match(
        prompt, match.end()
    )
    if _WEAK_LEAD_IN.search(before) and not _CLAUSE_VERB.search(sentence) and not bound_alone:
        return False  # "A sestina is 6 stanzas of 6 lines", "resumes over 2 pages"; not "Over 1,000 words please."
    if _CONDITION.search(clause):
        return False  # "if I create 3 treasure tokens with a spell, do they …?"
    opens_the_question = (
        _OPENS_THE_QUESTION.match(prompt, match.end()) is not None
    )  # "max 64 tokens — what's …?"
    if (
        not opens_the_question
        and _in_question_without_request(prompt, match, sentence)
        and (
            _DATA_PREPOSITION.search(before)
            or _words_after(prompt, match) >= 3
            or (_FACT_QUESTION.match(sentence) and not _ANSWER_SIZE_LEAD_IN.search(before))
            or _THING_QUESTION.match(sentence)
        )
    ):
        return False  # "What do you call a poem with 14 lines?", "why do my texts over 160 characters show up …?"
    tail = _TAIL.match(prompt[match.end() : match.end() + 20])
    if tail is not None and tail.group(0).strip() == ")":  # "Blog post about travel (1200 words)"
        tail = tail if _TASK_OPENER.match(sentence) else None
    # "Write 4 product descriptions, 60 words per product", "a 12-slide deck, max 40 words per slide",
    # "3 linkedin posts, each around 150 words"
    return bool(_LEAD_IN.search(before) or tail or per_thing or each_thing or _stands_alone(prompt, match))


_ONE_WORD_EACH = re.compile(r"[ -](?:one|single|two|three)[ -]word$", re.IGNORECASE)
"""A count of things of a word or a few each ("10 one-word names", "5 two-word slogans"): a list."""
_CONDITION = re.compile(r"\bif (?:i|we|you|they|he|she)\b[^,.;:?!]*$", re.IGNORECASE)
"""Before a count in a condition ("if I create 3 treasure tokens …"): a case put, not a request."""
_OPENS_THE_QUESTION = re.compile(r"\s*(?:[:：]|[—–]|-\s)")
"""After a count that sizes the question it introduces: "max 64 tokens — what's the capital …?"."""
_FACT_QUESTION = re.compile(r"\s*(?:why(?! (?:don't|not)\b)|how come|who|when|where)\b", re.IGNORECASE)
"""A question of fact ("Why do sonnets have exactly 14 lines?"): a count in it is its topic."""
_THING_QUESTION = re.compile(
    r"\s*(?:can|could|does|do|is|are|should|must|may|will)\s+(?:a|an|the|my|our|each|every|one)\s+[\w-]+"
    r"(?:\s+[\w-]+)?\s+(?:have|has|be|contain|include|exceed|hold|run|go)\b",
    re.IGNORECASE,
)
"""A yes-or-no question about a thing's size ("Can a tweet have at most 280 characters?", "Should each
slide be under 40 words?"): the count is its topic."""
_ANSWER_SIZE_LEAD_IN = re.compile(
    r"\b(?:in|within|under|using|at most|no more than|no longer than|up to)\s*$", re.IGNORECASE
)
"""What sizes the answer even in a question of fact ("Why is the sky blue, in 2 sentences?")."""


def _is_a_question(prompt: str, end: int) -> bool:
    """Whether the sentence that goes on at ``end`` ends with a question mark."""
    rest = re.match(r"[^.?!\n]*([.?!\n]|$)", prompt[end : end + _LOOK_AHEAD])
    return rest is not None and rest.group(1) == "?"


def _in_question_without_request(prompt: str, match: re.Match[str], sentence: str) -> bool:
    """Whether the count's sentence (``sentence``: its text before the count) is a question with no
    output verb before the count."""
    return _is_a_question(prompt, match.end()) and _CLAUSE_VERB.search(sentence) is None


_LOOK_AHEAD = 300
"""Characters read after a count for the rest of its sentence (a sentence longer than this is no
question about it), so that the grammar stays linear in the prompt."""


def _words_after(prompt: str, match: re.Match[str]) -> int:
    """Words between a count and the end of its clause."""
    rest = re.match(r"[^.?!\n,:;]*", prompt[match.end() : match.end() + _LOOK_AHEAD])
    return len(rest.group(0).split()) if rest else 0


def _bare_count_ends_clause(prompt: str, match: re.Match[str]) -> bool:
    """Whether a count is its unit alone at the end of a clause, a noun, not an adjective: "Maybe 100
    word is ok." (not "generate a single compound word")."""
    if match.group("article") or not _CLAUSE_CLOSER.match(prompt, match.end()):
        return False
    return len(prompt[_count_end(match) : match.end()].split()) == 1


def _count_end(match: re.Match[str]) -> int:
    """Where the number (with its range or "+") of a numeric count ends."""
    return max(match.end(group) for group in ("low", "high", "plus") if match.group(group))


def _stands_alone(prompt: str, match: re.Match[str]) -> bool:
    """Whether a count is a clause or sentence of its own after the task ("Write a history of the Silk
    Road, 1,500 words.", "Essay on war - 2000 words", "Write a story: 500 words.", "Write an essay on
    Hamlet. 1000-1500 words please.") or follows the text's name ("essay 2000 words about war"); not
    "The book has 300 pages, 90,000 words."."""
    before = prompt[max(0, match.start() - 200) : match.start()]
    sentences = re.split(r"[.?!\n]", before)
    sentence = sentences[-1]
    if _TEXT_THEN_COUNT.match(sentence) or _NEED_THEN_COUNT.fullmatch(sentence):
        return True
    if not before.strip() and _ARTICLE_OPENS_REQUEST.match(prompt, match.end()):
        return True  # the prompt opens with it: "Two pages on the polder system, please."
    if not _CLAUSE_CLOSER.match(prompt, match.end()):
        return False
    if not sentence.strip():  # "Write an essay on Hamlet. 1000-1500 words please."
        previous = [s for s in sentences[:-1] if s.strip()][-2:]
        if any(_TASK_OPENER.match(s) is not None for s in previous):
            return True  # also past a style sentence: "Write about bicycles. Keep it tight. Two paragraphs."
        closer = _CLAUSE_CLOSER.match(prompt, match.end())
        after_question = before.rstrip().endswith("?")
        return (
            after_question and closer is not None and "?" not in closer.group(0)
        )  # "What is X? One sentence."
    asks = _TASK_OPENER.match(sentence) is not None or _REQUEST_IN.search(sentence) is not None
    return _CLAUSE_OPENER.search(before) is not None and asks


def _words_are_the_answer_items(prompt: str, match: re.Match[str], before: str) -> bool:
    """Whether "N words" names the words the answer lists, not its length: "a list of 5 words", "three
    other words to describe …", "10 descriptive words for …" (not "in 50 words", "write 200 words on …")."""
    if not match.group("word") or _PREPOSITION_LEAD_IN.search(before):
        return False
    if _LIST_OF.search(before):
        return True
    low = parse_number(match.group("low")) if match.group("low") else None
    if low is None or (low == 1 and not match.group("high")):
        return False  # "give me one word that describes …": one word either way
    fillers = prompt[_count_end(match) : match.end()].split()[:-1]
    if fillers:
        return True  # "30 vocab words", "10 descriptive words"
    after = prompt[match.end() : match.end() + 24]
    return low <= 20 and _WORDS_AS_OBJECTS.match(after) is not None


def _article_count_is_instruction(prompt: str, match: re.Match[str], unit: str) -> bool:
    """Whether "a sentence / a paragraph / a page" sets the answer's length: a lead-in before it and an
    output verb in its clause ("describe X in a sentence", "write a paragraph"), a bound ("no longer than
    a paragraph"), or it opens a sentence on a topic ("Half a page on …"); not "the verb in a sentence"
    or "given a sentence"."""
    before = prompt[max(0, match.start() - 40) : match.start()]
    clause = _clause_before(prompt, match.start())
    if (
        unit not in _ARTICLE_UNITS
        or (prompt.startswith("-", match.end()) and not prompt.startswith("-long", match.end()))
        or _SIZE_WORD.search(match.group(0))
    ):
        return False
    field = field_of(prompt, match.start())
    if field is not None:  # "Length: half a page", "OUTPUT REQUIREMENTS: a single page"
        return field == "answer"
    if not _sentence_before(prompt, match.start()).strip():  # "Half a page on the chorus, please."
        return _ARTICLE_OPENS_REQUEST.match(prompt, match.end()) is not None
    if "-" in match.group(0):  # "do a half-page summary": a compound, as "a one-page summary" is
        return _governs_adjective_count(prompt, match.start())
    if _AT_MOST.search(before):
        return True
    if _ARTICLE_APPROX.search(before):  # "Write a review of the film, around half a page, for the blog."
        clause = _sentence_before(prompt, match.start())
    return bool(_ARTICLE_LEAD_IN.search(before)) and bool(_CLAUSE_VERB.search(clause))


def _quoted_spans(prompt: str) -> list[tuple[int, int]]:
    """Where ``prompt`` quotes text ("…", “…”, '…' but not an apostrophe)."""
    return [m.span() for m in _QUOTED.finditer(prompt)]


def _is_quoted(spans: list[tuple[int, int]], position: int) -> bool:
    """Whether ``position`` lies inside one of ``spans`` (sorted, not overlapping)."""
    index = bisect.bisect_left(spans, (position, position)) - 1
    return index >= 0 and spans[index][0] < position < spans[index][1]


_OR_TWO = re.compile(r"\s+or\s+(?:two|2)\b", re.IGNORECASE)
"""After "a paragraph": "or two", one and a half."""


def _stated_count(match: re.Match[str]) -> float | None:
    """The number a :data:`_COUNT` match states: "a" / "half a" 1 / 0.5 ("a paragraph or two" 1.5), a
    range its middle; None for none or zero."""
    if match.group("article"):
        if "half" in match.group("article").lower():
            return 0.5
        return 1.5 if _OR_TWO.match(match.string, match.end()) else 1.0
    low = parse_number(match.group("low"))
    if low is None or low <= 0:
        return None
    high = parse_number(match.group("high")) if match.group("high") else None
    return (low + high) / 2 if high and high > low else low


def _count_request(prompt: str) -> LengthRequest | None:
    """The first unit count of ``prompt`` outside quotes ("What does 'Write 2-3 pages' mean?" asks for
    no length), preferring a length unit over a list size."""
    found: list[tuple[LengthRequest, bool]] = []
    consumed = 0
    quoted: list[tuple[int, int]] | None = None
    for match in _COUNT.finditer(prompt):
        if match.start() < consumed:
            continue
        quoted = _quoted_spans(prompt) if quoted is None else quoted
        if _is_quoted(quoted, match.start()):
            continue
        unit = _unit_of(match)
        if match.group("plus") and unit not in _ARTICLE_UNITS | {"word"}:
            continue  # "3,000+ words" asks for a length; "1000+ name ideas" is a quantity
        if match.group("article") and (
            not _article_count_is_instruction(prompt, match, unit) or _OF_WORDS.match(prompt, match.end())
        ):
            continue  # "a paragraph of about 150 words": the word count that follows says the length
        count = _stated_count(match)
        if count is None:
            continue
        if unit == "item" and (count < 2 or _illustrates_the_answer(prompt, match.start())):
            continue
        if unit == "item" and _sizes_each_item_before(prompt, match):
            continue  # "15 questions, 4 answer options each": the options of each question, not the list
        if not _is_instruction(prompt, match):
            continue
        before = prompt[max(0, match.start() - 32) : match.start()]
        if _AT_MOST.search(before):
            count *= 1.0 if unit == "item" else 0.8  # "max 3 bullets" gets three; "under 100 words" fewer
        elif _AT_LEAST.search(before) or match.group("plus"):
            count *= 1.15
        if unit == "word" and count == 1:
            found.append((LengthRequest("absolute", 1.0, 1.0, "one_word", 1.0, match.group(0)), True))
            continue
        if unit == "line" and count == 1 and _EACH_NEAR.match(prompt, match.end()):
            continue  # "15 interview questions, one line each": a list, each item a line
        kind = _kind_of_list(prompt, match.start(), _count_end(match)) if unit == "item" else ""
        words = list_words(count, kind) if unit == "item" else count * WORDS_PER_UNIT[unit]
        items = (
            _items_before_each(prompt, match)
            if unit in ("word", "sentence", "paragraph", "character")
            else None
        )
        if items is not None:  # "Summarize the 10 commandments in one sentence each": ten sentences
            found.append(
                (
                    LengthRequest("absolute", items * words, 1.0, "items_of", items, match.group(0)),
                    _sentence_asks(prompt, match),
                )
            )
            continue
        text = match.group(0)
        if unit == "line" and count == 1:  # "a one-line answer" is a short sentence, not a list's line
            unit = "one_line"
        if unit in ("item", "paragraph"):  # "50 stories under ten words each": items times their own length
            per = _per_item_length(prompt, match.end(), qualified=unit == "paragraph")
            if per is not None:
                words = count * _sized_words(prompt, per)
                text = prompt[match.start() : per.end()]
                consumed = per.end()
                unit, kind = "items_of", ""
        found.append(
            (
                LengthRequest("absolute", words, 1.0, unit, count, text, item_kind=kind),
                _sentence_asks(prompt, match),
            )
        )
    found.sort(key=lambda pair: (pair[0].unit == "item", not pair[1]))
    return found[0][0] if found else None


def _sizes_each_item_before(prompt: str, match: re.Match[str]) -> bool:
    """Whether an item count followed by "each" sizes the items of a list counted before it in its
    sentence ("15 questions, 4 answer options each", "10 riddles with 2 hints each")."""
    if not _EACH_NEAR.match(prompt, _count_end(match)):
        return False
    sentence = _sentence_before(prompt, match.start())
    return any(_unit_of(earlier) == "item" for earlier in _COUNT.finditer(sentence))


_ITEMS_BEFORE_EACH = re.compile(
    rf"\b(?:the|these|those|all|all of the|each of the|my|our|your|following)\s+(?P<n>{NUMBER})\s+"
    rf"(?!(?:{_MEASURES})\b)(?:[\w'-]+\s+){{0,2}}?[a-z][\w'-]*s\b",
    re.I,
)
"""The items a length "each" belongs to, named before it in its sentence: "the 10 commandments", "these
3 products", "all 5 finalists"."""


_EACH_OF_THE = re.compile(rf"\beach of (?:the|these|those|your|my|our) (?P<n>{NUMBER})\s+[\w'-]+", re.I)
"""Before a length in its sentence, the items it sizes: "Each of the 5 answers should be ~30 words.",
"Summarize each of the 3 chapters in about 50 words"."""


_EACH_ITEM_SENTENCE = re.compile(
    r"\s*each (?:one|item|answer|entry|bullet|point|tip|idea|question|response|paragraph|section|faq|step)\b"
    r"(?: (?:should|must|will|needs to|has to|can) be)?",
    re.IGNORECASE,
)
"""A sentence that sizes each item of a list asked before it: "Each answer should be about 40 words"."""


def _items_before_each(prompt: str, match: re.Match[str]) -> float | None:
    """How many items a length followed by "each" / "per …" is for ("Summarize the 10 commandments in
    one sentence each"), when its sentence names them before it; else None."""
    sentence = _sentence_before(prompt, match.start())
    several = _SEVERAL_OF_SIZE.search(prompt, max(0, match.start() - 24), match.start())
    if several is not None and _ADJECTIVE_COUNT.search(match.group(0)):  # "three 50-word bios"
        n = parse_number(several.group("n"))
        return n if n is not None and 2 <= n <= 100 else None
    each_of = _EACH_OF_THE.search(sentence)
    if each_of is not None:  # "Each of the 5 answers should be ~30 words."
        n = parse_number(each_of.group("n"))
        return n if n is not None and 2 <= n <= 100 else None
    if _EACH_ITEM_SENTENCE.match(sentence):  # "Generate 6 FAQ entries. Each answer should be about 40 words."
        start = match.start() - len(sentence)
        listed = [m for m in _COUNT.finditer(prompt, max(0, start - 200), start) if _unit_of(m) == "item"]
        n = _stated_count(listed[-1]) if listed else None
        if n is not None:
            return n if 2 <= n <= 100 else None
    n = _each_thing_counted(prompt, match.start(), sentence)
    if n is not None:  # "Write a Twitter thread of 6 tweets on …. Each tweet under 280 characters."
        return n
    bound = _AFTER_MAX.match(prompt, match.end())
    each = _EACH_NEAR.match(prompt, bound.end() if bound else match.end())
    if each is None:
        return None
    named = list(_ITEMS_BEFORE_EACH.finditer(sentence))
    n = _thing_count(named[-1]) if named else _things_for_each(prompt, match, each)
    return n if n is not None and 2 <= n <= 100 else None


_PER_NOUN = re.compile(r"\bper (?P<noun>[a-z][\w-]*)\b", re.IGNORECASE)
_THE_THINGS = re.compile(r"\b(?:the|these|those|all)\s+(?P<noun>[a-z][\w-]*?)e?s\W*$", re.IGNORECASE)
_THINGS_REACH = 400
"""Characters before a size "per slide" or "each" in which the count of those things is looked for."""


_SEVERAL_OF_SIZE = re.compile(rf"\b(?P<n>{NUMBER})\s+$", re.IGNORECASE)
"""Before a size used as an adjective: how many things of that size ("three 50-word bios")."""
_EACH_THING = re.compile(r"(?:^|[,;—–]\s*|\s-\s*)\s*each (?P<noun>[a-z][\w-]*)\b[^,;]*$", re.IGNORECASE)
""""Each <thing>" opening a sentence or its last clause before a size ("Each tweet under 280 characters",
"…, each tweet under 240 characters")."""
_SIZE_HEDGE = re.compile(
    r"about|around|arround|aroud|approx\w*|roughly|under|max\w*|min\w*|at|no|up|between|exactly|ideally",
    re.IGNORECASE,
)
"""What follows "each" when it sizes things without naming them again ("each around 150 words"; a typo
of "around" too)."""
_LIST_SPLIT = re.compile(r",\s*(?:and\s+)?|\s+and\s+")
_NAMED_THINGS = re.compile(
    r"\b(?P<noun>[a-z][\w-]*?)e?s(?:\s+(?:are|include))?\s*:\s*(?P<names>[^.:\n]{3,300}?)(?:[.\n]|$)",
    re.IGNORECASE,
)
"""Things named in a list instead of counted: "Sections: Problem, Approach, Team, Budget, Outcomes."."""


def _each_thing_counted(prompt: str, position: int, sentence: str) -> float | None:
    """The count of the things "Each <thing>" sizes, counted before it ("… a thread of 6 tweets …. Each
    tweet under 280 characters.") or named in a list ("Sections: Problem, Approach, Team. Each section
    should be about 100 words."); None when no "each" names them or they were not counted. ``sentence``
    is the text of the size's sentence before ``position``."""
    each = _EACH_THING.search(sentence)
    if each is None:
        return None
    start = position - len(sentence) + each.start()
    noun = each.group("noun")
    things = [m for m in _things_counted(prompt, start) if m.start() >= start - _THINGS_REACH]
    named = [m for m in things if _counts_the(m, noun)]
    if not named and _SIZE_HEDGE.fullmatch(noun):  # "3 linkedin posts, each arround 150 words"
        named = [m for m in things if m.start() >= start - len(sentence)]
    n = (
        _thing_count(named[-1])
        if named
        else _listed_count(prompt, max(0, start - _THINGS_REACH), start, noun)
    )
    return n if n is not None and 2 <= n <= 100 else None


def _counts_the(match: re.Match[str], noun: str) -> bool:
    """Whether a count of things (:func:`_things_counted`) counts ``noun`` ("6-tweet" tweets, "4 product
    descriptions" products)."""
    return _stem(noun) in {_stem(word) for word in re.findall(r"[a-z]+", match.group(0).lower())}


def _listed_count(prompt: str, start: int, end: int, noun: str | None = None) -> float | None:
    """How many things the last list between ``start`` and ``end`` names ("Sections: Problem, Approach,
    Team."), of ``noun`` when given."""
    listed = [
        m
        for m in _NAMED_THINGS.finditer(prompt, start, end)
        if noun is None or _stem(m.group("noun")) == _stem(noun)
    ]
    return float(len(_LIST_SPLIT.split(listed[-1].group("names").strip()))) if listed else None


def _stem(noun: str) -> str:
    """A noun without its plural ending, the same for "slide", "slides" and :data:`_NOUN_COUNT`'s "slid"."""
    return noun.lower().rstrip("s").rstrip("e")


def _things_for_each(prompt: str, match: re.Match[str], each: re.Match[str]) -> float | None:
    """How many things a size "per <thing>" or "each" is for, counted earlier without a determiner: "~10
    slides, about 30 words of text per slide", "a 12-slide deck …, max 40 words per slide", "5 SEO
    keywords of 1-2 words each", "Brainstorm 20 names …. Just the names, 1-3 words each."."""
    start = max(0, match.start() - _THINGS_REACH)
    things = [m for m in _things_counted(prompt, match.start()) if m.start() >= start]
    per = _PER_NOUN.search(each.group(0))
    the = _THE_THINGS.search(prompt, max(0, match.start() - 40), match.start())
    noun = per.group("noun") if per is not None else the.group("noun") if the is not None else None
    if noun is not None:
        named = [m for m in things if _counts_the(m, noun)]
        return _thing_count(named[-1]) if named else None
    sentence = _sentence_before(prompt, match.start())
    inside = [m for m in things if m.start() >= match.start() - len(sentence)]
    return _thing_count(inside[-1]) if inside else None


_PER_ITEM_REACH, _PER_ITEM_REACH_QUALIFIED = 40, 72
"""Characters after a list's count in which each item's own length may follow ("50 stories under ten
words each"), and farther when the length says it is each item's in the same sentence ("2 steps for
starting a compost bin, with 3 sentences per step")."""
_EACH = re.compile(r"\s*(?:each|apiece|per \w+)\b", re.I)
_PER_ANSWER = re.compile(r"\s*per (?:response|answer|reply|message|output|turn)\b", re.I)
"""After a count in a template's field: the answer's own unit ("Limit: 60 tokens per response")."""
_EACH_BEFORE = re.compile(r"\beach\b[^,.;]{0,30}$", re.I)
"""Before an item's length: ", each no longer than 12 words", ", each around 80 words"."""
_SENTENCE_BREAK = re.compile(r"[.!?]|\n(?!\s*(?:[-*•]|\d{1,2}[.)])\s)")
"""Between a list's count and each item's length: a sentence's end, or a line that is not the next
bullet of a template's format ("- 4 bullets of review feedback\n- No more than 50 words per bullet")."""


def _per_item_length(prompt: str, start: int, qualified: bool = False) -> re.Match[str] | None:
    """The length of each item after a list's count ending at ``start``, if one follows; ``qualified``:
    only a length said to be each one's ("3 paragraphs, each around 80 words")."""
    for reach in (_PER_ITEM_REACH, _PER_ITEM_REACH_QUALIFIED):
        per = _COUNT.search(prompt, start, start + reach)
        if (
            per is None
            or not per.group("low")
            or _unit_of(per) not in ("word", "sentence", "paragraph", "character")
        ):
            continue
        between = prompt[start : per.start()]
        each = _EACH.match(prompt, per.end()) or _EACH_BEFORE.search(between)
        if (reach == _PER_ITEM_REACH and not qualified) or (each and not _SENTENCE_BREAK.search(between)):
            return per
    return None


def _sentence_asks(prompt: str, match: re.Match[str]) -> bool:
    """Whether the count's sentence asks for something (an output verb, a request, the text's name): in
    "Apply with CV (max 2 pages). … Write the cover letter, about 300 words." the second count is the
    answer's."""
    sentence = _sentence_before(prompt, match.start())
    return bool(_CLAUSE_VERB.search(sentence) or _TASK_OPENER.match(sentence) or _REQUEST_IN.search(sentence))


def _unquoted_match(pattern: re.Pattern[str], prompt: str) -> re.Match[str] | None:
    """The first match of ``pattern`` outside quotes (not 'what does "in a nutshell" mean?', "is opening
    with 'I'll keep this brief' a good idea?")."""
    quoted: list[tuple[int, int]] | None = None
    for match in pattern.finditer(prompt):
        if prompt[max(0, match.start() - 1) : match.start()] in _QUOTES:
            continue
        quoted = _quoted_spans(prompt) if quoted is None else quoted
        if not _is_quoted(quoted, match.start()):
            return match
    return None


_EXPLAINED_AFTER = re.compile(
    r"\b(?:explain|elaborate|justify|discuss|give (?:a |your |the |some |\w+ )?(?:reasons?|reasoning|justification)|"
    r"(?:with|and|plus) (?:a |an |your )?(?:short |brief |one-sentence )?(?:reasons?|explanation|justification|"
    r"rationale)|(?:and|then) (?:say|tell me|explain) why)\b",
    re.IGNORECASE,
)
_NOT_ASKED = re.compile(
    r"\b(?:no|not|don'?t|do not|never|without|no need to|nor)\b[^.!?\n]{0,12}$", re.IGNORECASE
)
_BEFORE_THE_WORDS = ".?!:;,\n\"'\u201d\u2019)-\u2013\u2014 \t("
"""What a closed answer's pattern may match before its first word ("…'? Only the name")."""
_EXPLAINED_REACH = 160
"""Characters after a closed answer ("in one word", "yes or no") where asking also for its reasons
("… Elaborate on your choice", "… and explain why") makes the answer a usual one."""


_SHORT_PROMPT = 400
"""A prompt this short is all instruction; in a longer one a closed answer is asked in its first or last
paragraph (the instruction before or after the pasted text), not inside the text."""
_PARAGRAPH = re.compile(r"(?:[^\n]|\n(?![ \t]*\n))+")


def _instruction_paragraph(prompt: str, match: re.Match[str]) -> str | None:
    """The text where a closed answer asked at ``match`` holds: the whole prompt when it is short, else
    its first or last paragraph when the match lies there and the paragraph is short; else None."""
    if len(prompt) < _SHORT_PROMPT:
        return prompt
    paragraphs = list(_PARAGRAPH.finditer(prompt))
    for paragraph in (paragraphs[0], paragraphs[-1]) if paragraphs else ():
        if paragraph.start() <= match.start() < paragraph.end() and len(paragraph.group(0)) < _SHORT_PROMPT:
            return paragraph.group(0)
    return None


_RELATIVE_CLAUSE = re.compile(r"\b(?:that|which|who)\s+(?:[\w'-]+\s+){0,12}$", re.IGNORECASE)
_CLOSED_VERB_OPENS = re.compile(
    r"\s*(?:please\s+)?(?:answer|reply|respond|output|return|say|classify|give|just|only)\b", re.I
)
_WHY_QUESTION = re.compile(
    r"(?:^|[,;:]\s*)(?:why|how come|how (?:do|does|can|should) (?:i|we|you|people))\b", re.I
)


def _someone_elses_answer(prompt: str, start: int) -> bool:
    """Whether a closed answer asked at ``start`` is what something else gives: inside a relative clause
    ("a regex that matches only 'yes' or 'no'", "a quiz bot that expects users to reply A, B, C or D")
    unless the sentence opens with the closed verb ("Answer the question that follows with one word"),
    or in a question about why or how others do it ("Why do sentiment models output just one label?")."""
    sentence = _sentence_before(prompt, start)
    if _RELATIVE_CLAUSE.search(sentence) and not _CLOSED_VERB_OPENS.match(sentence):
        return True
    return _WHY_QUESTION.search(sentence) is not None and _is_a_question(prompt, start)


_CLOSED_WINDOW = 800
"""Characters at each end of a long prompt where a closed answer is looked for: its first and last
paragraphs, where the instruction around a pasted text stands."""


def _closed_scope(prompt: str) -> list[tuple[int, int]]:
    """Where a closed answer may be asked: all of a short prompt; the first and last paragraphs of a
    long one (at most :data:`_CLOSED_WINDOW` characters each)."""
    if len(prompt) <= 2 * _CLOSED_WINDOW:
        return [(0, len(prompt))]
    first = prompt.find("\n\n", 0, _CLOSED_WINDOW)
    last = prompt.rfind("\n\n", len(prompt) - _CLOSED_WINDOW)
    return [
        (0, first if first >= 0 else _CLOSED_WINDOW),
        (last + 2 if last >= 0 else len(prompt) - _CLOSED_WINDOW, len(prompt)),
    ]


def _closed_answer(pattern: re.Pattern[str], prompt: str) -> re.Match[str] | None:
    """The first match of ``pattern`` (a closed answer: one word, yes or no, just the label) in the
    instruction's part of the prompt (:func:`_closed_scope`), outside quotes, that is not someone else's
    rule ("My teacher says answer with one word but …") or another's answer (:func:`_someone_elses_answer`)
    and is not followed by a request for the answer's reasons ("… Elaborate on your choice", "and explain
    why")."""
    quoted: list[tuple[int, int]] | None = None
    for match in (m for window in _closed_scope(prompt) for m in pattern.finditer(prompt, *window)):
        text = match.group(0)
        start = match.start() + len(text) - len(text.lstrip(_BEFORE_THE_WORDS))
        if prompt[start - 1 : start] in _QUOTES:
            continue
        quoted = _quoted_spans(prompt) if quoted is None else quoted
        if _is_quoted(quoted, start):
            continue
        if _REPORTED.search(_CONTRAST.split(_sentence_before(prompt, start))[-1]) or _someone_elses_answer(
            prompt, start
        ):
            return None
        after = prompt[match.end() : match.end() + _EXPLAINED_REACH]
        if any(not _NOT_ASKED.search(after[: found.start()]) for found in _EXPLAINED_AFTER.finditer(after)):
            return None
        return match
    return None


def _governed_match(pattern: re.Pattern[str], prompt: str, sentence: bool = False) -> re.Match[str] | None:
    """The first match of ``pattern`` whose clause (``sentence``: whose sentence, for a request set off by
    commas: "Walk me through, step by step and in great detail, how …") has an output verb before it
    ("explain … in detail")."""
    before = _sentence_before if sentence else _clause_before
    for match in pattern.finditer(prompt):
        if _CLAUSE_VERB.search(before(prompt, match.start())):
            return match
    return None


def _labelled_word_count(prompt: str) -> LengthRequest | None:
    """A word or token count given as a field: "Word count: 1500", "Word limit: 300", "Token limit for
    the answer: 120"."""
    match = _WORD_COUNT_LABEL.search(prompt)
    if match is None:
        return None
    count = parse_number(match.group("n"))
    if count is None or count <= 0:
        return None
    label = match.group("label").lower()
    bound = 0.8 if label.endswith(("limit", "budget")) else 1.0
    unit = "token" if "token" in label else "word"
    words = count * bound * WORDS_PER_UNIT[unit]
    return LengthRequest("absolute", words, 1.0, unit, count, match.group(0))


def _keyed_request(prompt: str) -> LengthRequest | None:
    """A length given as a template's keyed number (:func:`sagepred.length_fields.keyed_length`):
    ``"max_words": 120``, ``number_of_sentences: 6``, ``"num_bullets": 3`` with ``"words_per_bullet": 10``."""
    keyed = keyed_length(prompt) or keyed_length(prompt, spaced_language_units())
    if keyed is None:
        return None
    count = keyed.count * keyed.bound
    if keyed.unit != "item":
        return LengthRequest(
            "absolute", count * WORDS_PER_UNIT[keyed.unit], 1.0, keyed.unit, count, keyed.text
        )
    if keyed.count < 2:
        return None
    if keyed.per_item is not None:
        return LengthRequest(
            "absolute", keyed.count * keyed.per_item, 1.0, "items_of", keyed.count, keyed.text
        )
    return LengthRequest(
        "absolute", list_words(keyed.count, "thing"), 1.0, "item", keyed.count, keyed.text, item_kind="thing"
    )


def _spoken_request(prompt: str) -> LengthRequest | None:
    """A text to be spoken for some minutes ("a 5-minute speech", "a toast, about two minutes long") in
    a sentence that asks for it, as minutes × the speaking rate."""
    for match in _SPOKEN.finditer(prompt):
        sentence = re.split(r"[.?!;:\n]", prompt[max(0, match.start() - 120) : match.start()])[-1]
        if _TASK_OPENER.match(sentence) is None:
            continue
        count = parse_number(match.group("n") or match.group("n2") or match.group("n3"))
        if count is None or count <= 0:
            continue
        unit = (match.group("unit") or match.group("unit2") or match.group("unit3")).lower()
        minutes = count / 60.0 if unit.startswith("s") else count
        words = minutes * WORDS_PER_UNIT["minute"]
        return LengthRequest("absolute", words, 1.0, "minute", minutes, match.group(0))
    return None


def _form_request(prompt: str) -> LengthRequest | None:
    """A fixed-form text an output verb asks for ("write three haikus", "describe X in a haiku"), as
    count × size."""
    for match in _FORM.finditer(prompt):
        clause = _clause_before(prompt, match.start())
        asked_in = _IN_A_FORM.search(clause) is not None and _CLAUSE_VERB.search(clause) is not None
        if not (asked_in or _GOVERNED.search(clause)):
            continue
        count = parse_number(match.group("n")) if match.group("n") else 1.0
        if count is None or count <= 0:
            continue
        form = match.group("form").lower()
        return LengthRequest("absolute", count * WORDS_PER_FORM[form], 1.0, "form", count, match.group(0))
    return None


_PROGRAMMING = (
    r"python|java|javascript|typescript|golang|c\+\+|c#|php|haskell|kotlin|scala|bash|sql|pytest|"
    r"node(?:\.js)?|html|css|(?-i:Go|Rust|Swift|React|Ruby)"
)
"""Programming languages and tools: a piece of code written in one is a programming task ("Implement
binary search in Java", "Write a Go HTTP server", "a bash one-liner", "my tweet validator (JavaScript)");
names that are also English words count capitalised only ("go outside", "react to")."""
_NOT_A_DOCUMENT = (
    r"(?!\s+(?:me\s+)?(?:a |an |the |my |our )?(?:[\w-]+ )?(?:readme|docs?|documentation|blog post|article|"
    r"changelog|release notes|tutorial|guide|overview|post|e-?mail|announcement)\b)"
)
"""After "write": not a document about software ("Write a README for tidyclip, a small Rust CLI")."""
_CODE_TASK = re.compile(
    r"```|^\s*(?:def |import |from \w+ import|(?-i:class \w+\s*[({:])|>>>)|\bProblem:|(?-i:\A\s*QUESTION:)|expert Python programmer|"
    r"^\s*(?:for \w+ in [^\n]*|while [^\n]*|with [^\n]+ as \w+):\s*$|"
    r"\bgiven an? (?:array|matrix|tree|graph) of\b|\bO\([^)]{0,12}n[^)]{0,12}\)|\b[a-z_]+\.[a-z_]+\([^)\n]{0,40}\)|"
    r"\bwrite (?:a|an) (?:python )?function\b|(?:^|[.!?:]\s*)returns? (?:the|a|an)\b|"
    r"\b(?:function|method|program|script|code|should|must|will|which|that|and|then)\s+returns? (?:the|a|an)\b|"
    r"\b(?:write|create|implement|develop|design|construct|build|generate|need|want)(?: me)? (?:a|an) (?:[\w-]+ )?"
    r"(?:program|function|algorithm|script(?! of)|regular expression|regex|sql query|query|schema|class|method)\b|"
    rf"\b(?:write|implement|create|build|generate|make|show me|give me|code)\b{_NOT_A_DOCUMENT}[^.\n]{{0,40}}?\b(?:{_PROGRAMMING})\b"
    r"[^.\n]{0,30}?\b(?:function|class|script|server|program|test|one-liner|constraint|query|snippet|code|"
    r"component|method|endpoint|validator|parser|module|app|implementation|cli|api|bot|library|plugin)s?\b|"
    rf"\bimplement\b[^.\n]{{0,60}}\b(?:in|using) (?:{_PROGRAMMING})\b|\((?:{_PROGRAMMING})\)|"
    r"\b(?:write|create|give me|show me)\b[^.\n]{0,30}\b(?:unit test|check constraint|sql query)\b",
    re.IGNORECASE | re.MULTILINE,
)
"""Programming tasks: their counts ("3 rows", "two tensors", "a word is valid if") describe the data
("write a program / function / regular expression …", a problem statement, code)."""


def is_code_task(prompt: str) -> bool:
    """Whether ``prompt`` looks like a programming task (code, a problem statement, 'write a function')."""
    return _CODE_TASK.search(prompt) is not None


_TURN = re.compile(r"^(system|developer|user|assistant|tool): ", re.MULTILINE)
"""A turn of a conversation as :func:`sagepred.records.prompt_text` renders chat messages."""


def chat_turns(prompt: str) -> list[tuple[str, str]] | None:
    """``(role, content)`` per turn of a conversation rendered by :func:`sagepred.records.prompt_text`
    (``role: content`` lines), or None when ``prompt`` is not one (it does not open with a role)."""
    starts = list(_TURN.finditer(prompt))
    if not starts or starts[0].start() != 0:
        return None
    ends = [m.start() for m in starts[1:]] + [len(prompt)]
    return [(m.group(1), prompt[m.end() : end].rstrip("\n")) for m, end in zip(starts, ends, strict=True)]


def parse_length_request(prompt: str) -> LengthRequest:
    """The length instruction of ``prompt`` (see the module docstring), or :data:`NO_REQUEST`.

    Absolute requests win over relative ones; among absolute ones a unit count ("three sentences")
    wins over a list size ("list 50 …") and both over "one word" / "yes or no". A programming task
    (:func:`is_code_task`) only gets "the full program / complete code": its counts describe its data.

    In a conversation (chat messages as :func:`sagepred.records.prompt_text` renders them) the answer
    to come follows the last user turn, so that turn's request counts; without one, a standing request
    of the system prompt ("always answer in one sentence"). Earlier turns asked for earlier answers.
    """
    turns = chat_turns(prompt)
    if turns is None:
        return _parse_one(prompt)
    users = [i for i, (role, _) in enumerate(turns) if role == "user"]
    answers = [text for role, text in turns[: users[-1]] if role == "assistant"] if users else []
    request = _parse_one(turns[users[-1]][1], answers[-1] if answers else None) if users else NO_REQUEST
    if request.kind == "none":
        system = "\n".join(text for role, text in turns if role in ("system", "developer"))
        request = _parse_one(system) if system else NO_REQUEST
    return request


READ_CHARS = 20_000
"""Characters read from each end of a longer text: an instruction opens or closes a prompt, and the
grammar's time grows with what it reads (about 5 ms per 1,000 characters at worst)."""


_EXPLAIN_CODE = re.compile(
    r"\b(?:explain|describe|summari[sz]e|walk me through|comment on|tell me)\b[^\n]{0,60}?"
    r"\b(?:this|the following|the above|the below|my|that|these)\s+(?:\w+\s+)?"
    r"(?:code|function|snippet|script|query|regex|regular expression|program|class|method|command)\b|"
    r"\bwhat (?:does|do|is) (?:this|the following|that|my)\s+(?:\w+\s+)?"
    r"(?:code|function|snippet|script|query|regex|program|command)\b",
    re.IGNORECASE,
)
"""Asking what pasted code does: "Explain this code in two sentences", "What does this regex do?"."""
_CODE_PARTS = re.compile(r"```|\n\s*\n")
_CODE_DATA_UNITS = frozenset({"item", "items_of", "line", "character"})
"""Units that count a program's data or lines, not an explanation's length."""
_WRITES_CODE = re.compile(
    r"(?<!-)\b(?:write|implement|create|build|generate|make|code|add|fix|rewrite|refactor|convert|port|modify|"
    r"update|optimi[sz]e|extend)\b(?!-)",
    re.IGNORECASE,
)
_EXPLAINING = re.compile(r"\bexplain\w*|\bexplanation\b", re.IGNORECASE)
_ABOUT_CODE = re.compile(
    r"\b(?:explain\w*|explanation|summary|summari[sz]e|tl;?dr|review|eli5|what(?:'s| is| does| do)|why|"
    r"bug|complexity|design pattern)\b(?!\()",
    re.IGNORECASE,
)
"""Asking about pasted code (with :data:`_WRITES_CODE`, a request to write code, only when it also
asks to explain it)."""


def _explained_code_request(prompt: str) -> LengthRequest | None:
    """The length asked of an answer about pasted code: "Explain this code in two sentences:\n\n<code>",
    "<code>\nWhat's the bug here? Keep it to one sentence.", "这个函数是干嘛的？一句话说明就行\n<code>" (the
    request's first paragraph, and a short closing one, read without the code). None without pasted
    code, or when the request asks for code ("Write a function … \n\n<code>"), unless it asks to
    explain it ("Write me a short paragraph explaining this manifest"): writing code and explaining it
    ("Implement FizzBuzz and explain it in three sentences") is code and prose, no one length."""
    parts = [part.strip() for part in _CODE_PARTS.split(prompt) if part.strip()]
    if len(parts) < 2:
        return None
    closing = parts[-1] if len(parts[-1]) <= 200 and not is_code_task(parts[-1]) else ""
    opening = parts[0] if not is_code_task(parts[0]) else ""
    request_text = (opening + "\n" + closing).strip()
    if not request_text or is_code_task(request_text):
        return None
    asks_about = (_ABOUT_CODE.search(request_text) or "?" in request_text) and (
        not _WRITES_CODE.search(request_text) or _EXPLAINING.search(request_text)
    )
    if not (asks_about or _EXPLAIN_CODE.search(request_text) or explains_code(request_text)):
        return None
    request = _parse_one(request_text)
    if request.kind == "none" or request.unit in _CODE_DATA_UNITS:
        return None
    if request.unit not in SHORT_ANSWER_UNITS and _asked_in_a_question(request_text, request.text):
        return None  # "why does this return '' when the input has 50 words or fewer?": the code's count
    return request


def _asked_in_a_question(text: str, phrase: str) -> bool:
    """Whether ``phrase`` sits inside a question of ``text`` ("why does this return '' when the input
    has 50 words or fewer?"), not as its opening lead-in ("In one sentence, what does this do?")."""
    at = text.find(phrase) if phrase else -1
    if at < 0:
        return False
    rest = re.match(r"[^.?!\n]*([.?!\n]|$)", text[at : at + _LOOK_AHEAD])
    opening = re.split(r"[.?!\n]", text[max(0, at - 200) : at])[-1]
    return rest is not None and rest.group(1) in ("?", "？") and len(opening.split()) > 1


def _code_task_request(prompt: str) -> LengthRequest:
    """A programming task's request: "the full program", or yes / no in a short prompt ("Does
    list.sort() return None? Answer true or false."); its other counts describe its data ("in a word",
    "3 rows"), and an answer with code in it is not sized by its prose ("explain it in a paragraph")."""
    code = _code_size_request(prompt, _find_code_only(prompt)) or code_only_request(prompt)
    if code is not None:
        return code
    yes_no = _closed_answer(_YES_NO, prompt) if len(prompt) < _SHORT_PROMPT else None
    if yes_no is not None:
        return LengthRequest("absolute", 1.0, 1.0, "yes_no", 1.0, yes_no.group(0))
    return NO_REQUEST


def _code_alone_asked(prompt: str) -> CodeOnly | None:
    """Where a prompt not read as a programming task asks for code alone: by name ("Give me the bash
    command to find large files. Only the command."), or with "no explanation / no prose" where it
    names code or asks for the full program ("awk to sum column 3 of a CSV. one line, no prose");
    elsewhere "no explanation" stays a brief answer. One scan of the prompt unless it names no code."""
    found = _find_code_only(prompt)
    if found is None or names_code(prompt) or _FULL_CODE.search(prompt):
        return found
    return _find_code_only(prompt, naming_code=True)


def _find_code_only(prompt: str, naming_code: bool = False) -> CodeOnly | None:
    """:func:`~sagepred.code_only.find_code_only` with this grammar's quotes (a phrase that opens a
    quote or sits inside one is someone else's)."""

    @functools.cache
    def spans() -> list[tuple[int, int]]:
        return _quoted_spans(prompt)

    return find_code_only(
        prompt, naming_code, lambda at: prompt[max(0, at - 1) : at] in _QUOTES or _is_quoted(spans(), at)
    )


def _code_size_request(prompt: str, code_only: CodeOnly | None) -> LengthRequest | None:
    """The factor a request for code asks for: "the full program" (:data:`FULL_CODE_MULTIPLIER`),
    ``code_only``, a request for the code alone (:data:`CODE_ONLY_MULTIPLIER`), both ("the complete
    script, code only": their product), or None."""
    full_code = _FULL_CODE.search(prompt)
    if code_only is None:
        if full_code is None:
            return None
        return LengthRequest("relative", None, FULL_CODE_MULTIPLIER, "full_code", None, full_code.group(0))
    text = code_only.text.strip(" .,;:!(\n-–—")
    if full_code is None:
        return LengthRequest("relative", None, CODE_ONLY_MULTIPLIER, "code_only", None, text)
    both = FULL_CODE_MULTIPLIER * CODE_ONLY_MULTIPLIER
    return LengthRequest("relative", None, both, "full_code_only", None, f"{full_code.group(0)}; {text}")


def _parse_one(prompt: str, previous_answer: str | None = None) -> LengthRequest:
    """:func:`parse_length_request` for one text (its first and last :data:`READ_CHARS` characters);
    ``previous_answer``, a conversation's last assistant turn, is what "make it shorter" works on."""
    transform = find_transform(prompt, previous_answer)
    if transform is not None and not is_code_task(transform.request):
        return _transform_request(transform)
    if len(prompt) > 2 * READ_CHARS:
        prompt = prompt[:READ_CHARS] + "\n" + prompt[-READ_CHARS:]
    if is_code_task(prompt):
        return _explained_code_request(prompt) or _code_task_request(prompt)
    languages = detect_languages(prompt)
    parts = parts_request(prompt, languages) if languages else None
    if parts is not None:
        return parts
    transform = (
        find_foreign_transform(prompt, languages, previous_answer)
        if not prompt.isascii() or languages
        else None
    )
    if transform is not None:
        sized = parse_multilingual_request(transform.request, languages or None)
        return sized if sized is not None and sized.kind == "absolute" else _pasted_text_request(transform)
    if languages:
        return parse_multilingual_request(prompt, languages) or NO_REQUEST
    request = _parse_english(prompt)
    if request.kind == "none":
        return parse_unidentified(prompt) or NO_REQUEST
    return request


def _transform_request(transform: PastedTransform) -> LengthRequest:
    """A request to transform a pasted text (:mod:`sagepred.length_transforms`): the size its own
    words ask for ("Rewrite this in 100 words:", "Turn this into a tweet"), else the text's length
    times the factor asked, in the answer's language."""
    asks = _asking_sentences(transform.request, transform.verb)
    sized = _parse_english(asks)
    before = asks[: max(asks.find(sized.text), 0)] if sized.text else ""
    as_list = sized.unit == "item" and re.search(r"\b(?:as|into|in|to)\s+$", before) is not None
    if (
        sized.kind == "absolute"
        and sized.unit not in SHORT_ANSWER_UNITS
        and (sized.unit != "item" or as_list)
        and _ADDED_PART.search(before) is None
    ):
        return sized
    counted = _size_in_request(asks) or _size_in_request(transform.request, explicit=True)
    return counted or _pasted_text_request(transform)


def _pasted_text_request(transform: PastedTransform) -> LengthRequest:
    """The request for a transform's answer: its text's length times the factor, in its language."""
    return LengthRequest(
        "absolute",
        transform.requested_words(),
        1.0,
        "pasted_text",
        transform.factor,
        transform.verb,
        transform.target_language,
    )


_SIZE_FOLLOWS = re.compile(
    r"^\s*(?:and\s+|but\s+|please\s+|pls\s+)?(?:keep|make|aim|limit|stay|cap|use|target|max|no\s+more|under|"
    r"around|about|roughly|it\s+(?:should|must|needs?\s+to|has\s+to)|the\s+limit)\b",
    re.IGNORECASE,
)


def _asking_sentences(request: str, verb: str) -> str:
    """The sentences of a transform's request that may size its answer: the verb's own, and those
    after it that set a size ("Keep it under 100 words."); not a description of the text ("my mum
    wrote it like one long paragraph")."""
    at = max(request.find(verb), 0)
    start = max(request.rfind(mark, 0, at) for mark in ".?!\n") + 1
    sentences = re.split(r"(?<=[.?!\n])", request[start:])
    kept = sentences[:1] + [s for s in sentences[1:] if _SIZE_FOLLOWS.match(s)]
    return " ".join(part.strip() for part in kept)


_ADDED_PART = re.compile(
    r"\b(?:add|adding|incorporate|incorporating|include|including|insert|inserting|append|with)\b[^.?!\n]{0,40}$",
    re.IGNORECASE,
)
"""Before a count that sizes a part added to the text ("incorporate a counterargument paragraph")."""
_APPROXIMATE = re.compile(r"\b(?:about|around|roughly|approximately|approx\.?|some|~)\s*$", re.IGNORECASE)
_SECONDS = re.compile(r"\b(?P<n>\d{1,3})[- ]seconds?\b", re.IGNORECASE)
_SIZE_UNITS = frozenset({"word", "sentence", "paragraph", "page", "line", "character", "minute", "token"})
_MAX_AFTER = re.compile(r"\s*(?:max(?:imum)?|or (?:less|fewer)|tops|at most|limit)\b", re.IGNORECASE)


def _size_in_request(request: str, explicit: bool = False) -> LengthRequest | None:
    """The last unit count in the request of a transform ("cut it to 200 words", "be 75 words",
    "as a 50-word abstract", "25 words max"): the request is about the answer, so a count there is
    its size unless it describes the text as it is ("it's about 450 words") or is a rate. With
    ``explicit``, only a count in digits or with a bound or an approximation ("needs the text in 50
    words max. Can you rewrite it?", "about one page long"), read anywhere in the request."""
    found: LengthRequest | None = None
    for match in _COUNT.finditer(request):
        unit = _unit_of(match)
        before = request[max(0, match.start() - 40) : match.start()]
        bounded = _AT_MOST.search(before[-32:]) or _MAX_AFTER.match(request, match.end())
        if unit not in _SIZE_UNITS or _RATE.match(request, match.end()) or _ADDED_PART.search(before):
            continue
        if explicit and not (
            bounded or re.search(r"\d", match.group(0)) or _APPROXIMATE.search(before[-16:])
        ):
            continue
        if _DESCRIBES.search(before) and not bounded:
            continue
        count = _stated_count(match)
        if count is None:
            continue
        if bounded:
            count *= 0.8
        elif _AT_LEAST.search(before[-32:]):
            count *= 1.15
        found = LengthRequest("absolute", count * WORDS_PER_UNIT[unit], 1.0, unit, count, match.group(0))
    seconds = _SECONDS.search(request)
    if found is None and seconds is not None:  # "a 30-second elevator pitch", spoken
        minutes = int(seconds.group("n")) / 60
        found = LengthRequest(
            "absolute", minutes * WORDS_PER_UNIT["minute"], 1.0, "minute", minutes, seconds.group(0)
        )
    return found


def _plan_request(prompt: str) -> LengthRequest | None:
    """A plan or schedule sized by its structure (:mod:`sagepred.length_plans`: "a 4-day trip, 3 activities
    per day"), as a list of its items; read in the request, not in a pasted text or a programming task."""
    if is_code_task(prompt):
        return None
    data = _DATA_BLOCK.search(prompt)
    request = prompt[: data.start()] if data is not None else prompt
    if len(request) > 2 * _CLOSED_WINDOW:  # a long prompt asks in its first and last paragraphs
        request = request[:_CLOSED_WINDOW] + "\n" + request[-_CLOSED_WINDOW:]
    plan = plan_items(request)
    if plan is None:
        return None
    kind = list_kind(" " + plan.noun)
    return LengthRequest(
        "absolute", list_words(plan.count, kind), 1.0, "item", plan.count, plan.text, item_kind=kind
    )


def _parse_english(prompt: str) -> LengthRequest:
    """:func:`_parse_one` for an English prompt."""
    counted = (
        _parts_request(prompt)
        or _count_request(prompt)
        or _labelled_word_count(prompt)
        or _keyed_request(prompt)
        or _spoken_request(prompt)
    )
    if counted is None or counted.unit == "item":
        counted = _plan_request(prompt) or counted
    if counted is not None and counted.unit != "item":
        return counted
    one_liner = _governed_match(_ONE_LINER, prompt) or _unquoted_match(_ONE_LINE_ANSWER, prompt)
    if one_liner is not None:
        return LengthRequest("absolute", WORDS_PER_UNIT["line"], 1.0, "one_line", 1.0, one_liner.group(0))
    one_pager = _governed_match(_ONE_PAGER, prompt)
    if one_pager is not None:
        return LengthRequest("absolute", WORDS_PER_UNIT["page"], 1.0, "page", 1.0, one_pager.group(0))
    one_word = _closed_answer(_ONE_WORD, prompt)
    if one_word is not None:
        return LengthRequest("absolute", 1.0, 1.0, "one_word", 1.0, one_word.group(0))
    few_words = _closed_answer(_FEW_WORD_ANSWER, prompt)
    if few_words is not None:
        n = parse_number(few_words.group("n")) or 2.0
        return LengthRequest("absolute", n, 1.0, "word", n, few_words.group(0))
    if counted is not None:
        return counted
    lists = list(_LIST.finditer(prompt)) or list(_OPENING_LIST.finditer(prompt[:_OPENING_SPAN]))
    quoted = _quoted_spans(prompt) if lists else []
    listed = next(
        (
            m
            for m in lists
            if not _is_quoted(quoted, m.start())
            and not _own_need(prompt, m)
            and not _asks_about_the_set(prompt, m)
            and not _illustrates_the_answer(prompt, m.start("n"))
        ),
        None,
    )
    if listed is not None:
        n = parse_number(listed.group("n"))
        form = _FORM.match(prompt, listed.start("n"))
        if form is not None and form.group("n"):  # "write 5 haikus": five of a fixed form, not a list
            return _form_request(prompt) or NO_REQUEST
        if n is not None and n >= 2:
            kind = _kind_of_list(prompt, listed.start(), listed.end("n"))
            return LengthRequest(
                "absolute", list_words(n, kind), 1.0, "item", n, listed.group(0), item_kind=kind
            )
    follow_up = _follow_up_list(prompt)
    if follow_up is not None:
        return follow_up
    yes_no = _closed_answer(_YES_NO, prompt)
    if yes_no is not None and yes_no.group(0).lower().rstrip().endswith(("question", "answer")):
        yes_no = yes_no if _CLAUSE_VERB.search(_clause_before(prompt, yes_no.start())) else None
    if yes_no is not None and _instruction_paragraph(prompt, yes_no) is not None:
        return LengthRequest("absolute", 1.0, 1.0, "yes_no", 1.0, yes_no.group(0))
    short = _closed_answer(_SHORT_ANSWER, prompt)
    paragraph = _instruction_paragraph(prompt, short) if short is not None else None
    if short is not None and paragraph is not None and not _FOR_EACH.search(paragraph):
        return LengthRequest("absolute", 1.0, 1.0, "short_answer", 1.0, short.group(0).strip(" .?!:;\n"))
    form = _form_request(prompt)
    if form is not None:
        return form
    code = _code_size_request(prompt, _code_alone_asked(prompt))
    if code is not None:
        return code
    sized = relative_field(prompt)
    if sized is not None:  # "Length: short", "Verbosity: high"
        direction, text = sized
        if direction > 0:
            return LengthRequest("relative", None, DETAILED_MULTIPLIER, "detailed", None, text)
        return LengthRequest("relative", None, BRIEF_MULTIPLIER, "brief", None, text)
    detailed = _unquoted_match(_DETAILED, prompt) or _governed_match(
        _DETAILED_GOVERNED, prompt, sentence=True
    )
    if detailed is not None:
        return LengthRequest("relative", None, DETAILED_MULTIPLIER, "detailed", None, detailed.group(0))
    brief = _unquoted_match(_BRIEF, prompt)
    if brief is not None:
        return LengthRequest("relative", None, BRIEF_MULTIPLIER, "brief", None, brief.group(0))
    return NO_REQUEST


_PROSE_UNITS = frozenset({"word", "sentence", "paragraph", "page", "character", "line", "token", "stanza"})
_NOUN_COUNT = re.compile(
    rf"\b(?P<n>{NUMBER})(?:[ -]+(?:[\w'’&-]+[ -]+){{0,3}}?(?P<noun>[a-z][\w'’&-]*?)(?:e?s)\b|"
    rf"-(?P<adjective>[a-z]+)\b)",
    re.IGNORECASE,
)
"""A count of things, each sized after it: "4 product descriptions", "5 SEO keywords", a 12-slide deck
("12-slide")."""
_MEASURE = re.compile(rf"(?:{_MEASURES})", re.IGNORECASE)
_NUMBERED_THINGS = re.compile(
    r"\b(?P<noun>[a-z][\w-]*?)e?s\s+(?P<low>\d{1,3})\s*(?:-|–|to|through)\s*(?P<high>\d{1,3})\b", re.I
)
"""Things counted by their numbers: "chapters 3-7", "slides 2–6"."""
_AFTER_MAX = re.compile(r"\s*(?:max(?:imum)?|at most|or (?:less|fewer)|tops|limit)\b", re.IGNORECASE)
"""After a count: a bound ("30 characters max each")."""
_EACH_NEAR = re.compile(
    r"\s*(?:of (?:text|copy|content)\s+)?(?:(?!(?:in|out|and|or|at|on|to|for|from|with|by)\b)[\w'-]+\s+){0,2}?"
    r"(?:each|apiece|per \w+)\b",
    re.IGNORECASE,
)
"""After a size: that it is each thing's ("60 words per product", "30 words of text per slide", "a
one-sentence description each")."""
_ONE_LINE_PART = re.compile(
    r"\b(?:title|headline|subject(?: line)?|greeting|sign-?off|signature|tagline|slogan|hook|cta|"
    r"call to action|closing line|name)\b",
    re.IGNORECASE,
)
"""An unsized part of an answer in sized parts that is one line ("a title", "the sign-off"): it counts a
line (:data:`WORDS_PER_UNIT`)."""
WORDS_PER_PART_ITEM = 23.0
"""Words of an unsized bullet or item inside one part of an answer ("Risks (3 bullets)"): one line of a
list, the size the grammar gave every list item before lists were sized by kind (no data asks for
lists inside parts; a whole answer's list is sized by :func:`sagepred.list_sizes.list_words`)."""


def _sized_words(text: str, match: re.Match[str]) -> float:
    """Words of a prose count ``match`` in ``text``, with a bound before it ("under 100 words") or after
    it ("30 characters max")."""
    words = (_stated_count(match) or 1.0) * WORDS_PER_UNIT[_unit_of(match)]
    before = text[max(0, match.start() - 32) : match.start()]
    if _AT_MOST.search(before) or _AFTER_MAX.match(text, match.end()):
        return 0.8 * words
    return 1.15 * words if _AT_LEAST.search(before) or match.group("plus") else words


def _things_counted(text: str, end: int) -> list[re.Match[str]]:
    """Counts of things ("4 product descriptions", "12-slide", "chapters 3-7") in ``text`` before ``end``,
    not measures."""
    found = [m for m in _NOUN_COUNT.finditer(text, 0, end) if not _MEASURE.fullmatch(m.group("noun") or "")]
    return sorted(found + list(_NUMBERED_THINGS.finditer(text, 0, end)), key=lambda m: m.start())


def _thing_count(match: re.Match[str]) -> float | None:
    """The count a :func:`_things_counted` match states: its number, or a numbered range's size
    ("chapters 3-7": 5)."""
    if match.re is _NUMBERED_THINGS:
        low, high = int(match.group("low")), int(match.group("high"))
        return float(high - low + 1) if high > low else None
    return parse_number(match.group("n"))


def _items_sized_each(text: str, match: re.Match[str]) -> float | None:
    """How many things a prose count sizes each of ("4 product descriptions, 60 words per product", "5
    keywords of 1-2 words each", "each no more than 40 words"): the count of things before it in
    ``text``, when the size says it is each one's; else None."""
    bound = _AFTER_MAX.match(text, match.end())
    each = _EACH_NEAR.match(text, bound.end() if bound else match.end())
    if not each and not _EACH_BEFORE.search(text[max(0, match.start() - 32) : match.start()]):
        return None
    things = _things_counted(text, match.start())
    n = _thing_count(things[-1]) if things else None
    return n if n is not None and 2 <= n <= 200 else None


def _part_size(part: str) -> tuple[float | None, float | None]:
    """The words one part of an answer asks for (:mod:`sagepred.length_parts`): "TL;DR in at most 25
    words" 20, "Two body paragraphs of 80-100 words each" 180, "Pros: 4 bullets, max 12 words each"
    38.4, "Risks (3 bullets)" three of :data:`WORDS_PER_PART_ITEM`, "a short intro paragraph" 47; and,
    for a size of each item whose items the part does not count ("No more than 50 words per bullet"),
    None and that size. ``(None, None)`` when it states no size."""
    counts = [
        m
        for m in _COUNT.finditer(part)
        if _stated_count(m) is not None
        and _unit_of(m) != "minute"
        and not (m.group("article") and _unit_of(m) not in _ARTICLE_UNITS)
    ]
    if not counts:
        unit = UNIT_LABEL.fullmatch(part)
        return (WORDS_PER_UNIT[part.split()[-1].lower()], None) if unit is not None else (None, None)
    first = counts[0]
    for later in counts[1:]:
        if _unit_of(later) in _PROSE_UNITS and _items_sized_each(part, later) is not None:
            return (_stated_count(first) or 1.0) * _sized_words(part, later), None
    if _unit_of(first) not in _PROSE_UNITS:
        return (_stated_count(first) or 1.0) * WORDS_PER_PART_ITEM, None
    items = _items_sized_each(part, first)
    if items is None and (_EACH_NEAR.match(part, first.end()) or _EACH_BEFORE.search(part[: first.start()])):
        return None, _sized_words(part, first)
    return (items or 1.0) * _sized_words(part, first), None


def _parts_request(prompt: str) -> LengthRequest | None:
    """An answer asked for in sized parts: the sum of its parts' sizes, when two or more are sized
    (:mod:`sagepred.length_parts`). A part that sizes each item of the part before it ("- 4 bullets of
    review feedback" then "- No more than 50 words per bullet") sizes those items."""
    for parts in answer_parts(prompt):
        sized: list[float] = []
        lines = 0
        items_before: float | None = None
        for start, end in parts:
            words, each = _part_size(prompt[start:end])
            if words is None and each is None and _ONE_LINE_PART.search(prompt, start, end):
                lines += 1  # "a title", "the sign-off": a line
            elif each is not None and items_before is not None and sized:
                sized[-1] = items_before * each
                items_before = None
            elif words is not None:
                sized.append(words)
                unit_count = _COUNT.search(prompt, start, end)
                items_before = (
                    _stated_count(unit_count)
                    if unit_count is not None and _unit_of(unit_count) == "item"
                    else None
                )
        repeats = _repeated_for(prompt, parts[0][0])
        if len(sized) >= 2 or (sized and repeats is not None):
            text = prompt[parts[0][0] : parts[-1][1]]
            words = (sum(sized) + lines * WORDS_PER_UNIT["line"]) * (repeats or 1.0)
            return LengthRequest("absolute", words, 1.0, "parts", float(len(sized) + lines), text)
    return None


_FOR_EACH_INTRO = re.compile(
    r"\b(?:for each|for every|each|per)(?: (?P<noun>[a-z][\w-]*))?(?: one)?"
    r"(?:\s+(?:needs|gets|should have|has|will have|i need|we need|include))?\s*(?:[:—–,]|\s-)?\s*"
    r"(?:list|write|give|include|add)?\s*:?\s*(?:an?\s+|the\s+)?$",
    re.IGNORECASE,
)
"""Before an answer's parts: they repeat for each of several things ("Create 3 buyer personas …. For each:
…", "5 ad variations. Each one: headline under 30 characters, …", "Each email needs:", "Per session I
need:", "For each day, list …")."""


_MANY_THINGS = re.compile(rf"\b(?P<n>{NUMBER})\s+(?:[\w'’&/-]+\s+){{0,5}}?[a-z][\w'’&-]*?s\b", re.IGNORECASE)
"""A count of things named up to six words after it ("5 Google responsive search ad variations")."""


def _repeated_for(prompt: str, start: int) -> float | None:
    """How many times the parts starting at ``start`` repeat: the count of the things a "For each:" just
    before them refers to, counted before it; None when no "each" introduces them."""
    intro = _FOR_EACH_INTRO.search(prompt, max(0, start - 40), start)
    if intro is None:
        return None
    reach = max(0, intro.start() - _THINGS_REACH)
    noun = intro.group("noun")
    if noun and noun.lower() != "one":  # "5 days", a measure, counts too
        things = [m for m in _NOUN_COUNT.finditer(prompt, reach, intro.start()) if _counts_the(m, noun)]
    else:  # "Need 5 Google responsive search ad variations …. Each one: …"
        things = list(_MANY_THINGS.finditer(prompt, reach, intro.start()))
    # else the things a list names: "topics are: mitosis, meiosis, DNA replication. for each one …"
    n = _thing_count(things[-1]) if things else _listed_count(prompt, reach, intro.start())
    return n if n is not None and 2 <= n <= 100 else None


def _kind_of_list(prompt: str, start: int, count_end: int) -> str:
    """The kind of a list's items (:func:`sagepred.list_sizes.list_kind`) from the words after its count
    (which ends at ``count_end``), or, when none name them ("list 7 please"), from the words before the
    request (which starts at ``start``)."""
    after = prompt[count_end : count_end + _NAMING_SPAN]
    if _UNNAMED_ITEMS.match(after):
        return named_kind(prompt[:start]) or "thing"
    return list_kind(after)


def _own_need(prompt: str, match: re.Match[str]) -> bool:
    """Whether "I need / we want N …" states the user's own situation before a question about something
    else ("I need 3 volunteers for Saturday. How do I ask my neighbors …?", "We want 2 dogs but our flat is
    small. Is that a bad idea?"), not the answer's items ("I need 6 songs for a road trip playlist", "…
    I'd like 7 brands to look into.", "I need 10 names for my bakery, any ideas?")."""
    if "need" not in match.groupdict() or not match.group("need"):
        return False
    rest = prompt[match.end() : match.end() + _LOOK_AHEAD]
    return "?" in rest and not _ASKS_FOR_SEVERAL.search(rest)


_ABOUT_THE_SET = re.compile(
    r"[^.?!\n]{0,60}?\b(?:(?:actually|really|all|mainly|basically)\s+about|"
    r"(?<!about )(?<!on )(?<!for )(?<!of )(?<!in )(?<!to )(?<!at )"
    r"(?:arguing|saying|claiming|complaining|protesting|fighting)\b)",
    re.I,
)
"""After "What were the N …": the clause goes on to ask what the set says or is about ("… actually
arguing about", "… fighting for", "… all about"), not after a preposition ("books about fighting …")."""


def _asks_about_the_set(prompt: str, match: re.Match[str]) -> bool:
    """Whether "What were the N …" asks what a known set is about ("What were the 95 theses actually
    arguing about, in a nutshell?"), not for its items ("What are the 7 wonders of the ancient world?"),
    or a question of fact names the count ("Why did Twitter pick 280 characters as the limit?")."""
    if _FACT_QUESTION.match(_sentence_before(prompt, match.start())) and _is_a_question(prompt, match.end()):
        return True
    opens = match.group(0).lstrip(" .?!:\n").lower()
    if not opens.startswith(("what", "which")) or " the " not in f" {opens} ":
        return False
    return _ABOUT_THE_SET.match(prompt, match.end()) is not None


_ILLUSTRATIONS = re.compile(
    r"(?:a few|a couple(?: of)?|several|some)\s+(?:more\s+)?(?:examples?|instances|illustrations)\b", re.I
)


def _illustrates_the_answer(prompt: str, count_start: int) -> bool:
    """Whether the list counted at ``count_start`` is a few examples for an answer to a question before it
    ("Why do emoji mean different things in different cultures? Give a few examples."): the question
    sizes the answer."""
    return _ILLUSTRATIONS.match(prompt, count_start) is not None and "?" in prompt[:count_start]


def _follow_up_list(prompt: str) -> LengthRequest | None:
    """A list sized by a count that closes the request (:data:`_FOLLOW_UP_COUNT`): one that asks ("give me
    nine", "four of them", "top 4 pls"), or a hedged one ("Maybe 7.", "At least 10") after a request that
    named several things ("What are some good names for a podcast …? Maybe 7."); never a bare number (a
    clause "…, 42" is data). The request is the prompt's first paragraph (text may be pasted after it)
    before any data block, read up to each of its clause ends in turn."""
    request = _DATA_BLOCK.split(prompt.split("\n\n", 1)[0][: _OPENING_SPAN * 4], 1)[0]
    ends = [m.start() for m in re.finditer(r"[.!?,](?:\s|$)|—|–| - ", request)] + [len(request)]
    for end in ends:
        tail_start = max(0, end - _FOLLOW_UP_SPAN)
        found = _FOLLOW_UP_COUNT.search(request[tail_start:end].rstrip(" .!?—–-") + ".")
        if found is None:
            continue
        n = parse_number(found.group("n"))
        before = request[: tail_start + found.start()]
        kind = named_kind(before)
        asked = found.group("ask") or found.group("tail").strip()
        several = kind or _ASKS_FOR_SEVERAL.search(before)
        if n is None or not 2 <= n <= 100 or not (asked or (found.group("hedge") and several)):
            continue
        kind = kind or "thing"
        return LengthRequest(
            "absolute", list_words(n, kind), 1.0, "item", n, found.group(0).strip(), item_kind=kind
        )
    return None


def log_shift(request: LengthRequest, predicted_median: float, tokenizer: str | None = None) -> float:
    """``log(asked / predicted median)``: how far the request is from the prediction (0 for none)."""
    if request.kind == "relative":
        return math.log(request.multiplier)
    tokens = request.requested_tokens(tokenizer)
    if tokens is None:
        return 0.0
    return math.log(tokens) - math.log(max(predicted_median, 1.0))
