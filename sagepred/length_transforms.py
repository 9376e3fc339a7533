"""Requests to transform a text the user pastes: the answer is as long as the text.

"Proofread this:\\n\\n<e-mail>", "Translate into French: <paragraph>", "<notes>\\n\\ncan you make this
sound less robotic?", "Make it more concise" after an assistant's answer (the conversation's previous
turn is the text), "Corrígeme las faltas de este párrafo" (the eight other languages' words are in
:mod:`sagepred.transform_grammars`): the answer is the text again, translated, corrected or reworded,
so its length follows the text's, not the prompt's topic. (On
AlpacaEval's 227 models, "Rewrite this song to be about programming" over a 330-word song is answered
in 329 words, median; "translate the article" over 85 words in 89; "correct the grammar" over 28
words in 28.) :func:`find_transform` finds such a request, the text it works on and the factor it asks
for ("shorten" 0.6, "cut it in half" 0.5, "30% shorter" 0.7, "expand" 2, "3 versions" 3, one
translation per language named), and
:meth:`PastedTransform.requested_words` the answer's length in its own language's words (Chinese and
Japanese: characters).

The reading errs towards finding nothing, like the rest of the grammar: the verb must open a request
("Proofread …", "Could you rewrite …", "… and translate it") and take the whole text as its object
("this", "the following", "my e-mail", a colon before the text, "the above" after it); a part of it
("rewrite only the first sentence", "translate the word 'fika'"), a question about it, a summary or
feedback is no transform, and neither is a text under :data:`MIN_SOURCE_WORDS` words (a chat answer
about one short sentence is as long as its explanation).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from dataclasses import dataclass

from sagepred.length_instructions_multilingual import CHARACTER_LANGUAGES, detect_languages
from sagepred.transform_grammars import TRANSFORM_WORDS

MIN_SOURCE_WORDS = 10
"""Shortest text read (words of its English translation): a chat answer about a shorter one is as
long as its preamble and explanation (on the data's 48 rewrites of under ten words, 5× the text)."""

PREAMBLE_WORDS = 5.0
"""Words an answer adds to the transformed text ("Here is the corrected version:"): the median excess
over the text on the data's 42 rewrites of ten words or more (their answers run 1.15–1.4× the text)."""

SHORTER_FACTOR = 0.6
"""An answer asked to be shorter with no amount ("make it more concise", "tighten this up")."""
LONGER_FACTOR = 2.0
"""An answer asked to be longer with no amount ("expand this", "flesh it out")."""

UNITS_PER_ENGLISH_WORD: dict[str, float] = {
    "en": 1.0,
    "es": 1.022,
    "pt": 1.068,
    "fr": 1.069,
    "it": 0.965,
    "de": 0.986,
    "ru": 0.845,
    "zh": 1.565,
    "ja": 2.339,
    "ko": 0.712,
    "nl": 1.014,
    "pl": 0.868,
    "tr": 0.768,
    "vi": 1.305,
    "ar": 0.808,
    "hi": 1.172,
}
"""Words (Chinese, Japanese: characters, kana included) of a text per word of its English original:
measured on three texts of about 430 words (an explanation, a letter, a story with dialogue) and
their translations into each language (``tests/data/parallel/``)."""

TOKENS_PER_WORD_TRANSLATED: dict[str, dict[str | None, float]] = {
    "ko": {
        "cl100k": 4.02,
        "llama3": 2.486,
        "qwen": 2.787,
        "llama2": 6.15,
        "mistral-v1": 4.688,
        "mistral-v3": 4.688,
    },
    "nl": {
        "cl100k": 1.818,
        "llama3": 1.81,
        "qwen": 1.822,
        "llama2": 2.008,
        "mistral-v1": 2.1,
        "mistral-v3": 2.1,
    },
    "pl": {
        "cl100k": 2.526,
        "llama3": 2.508,
        "qwen": 2.362,
        "llama2": 2.721,
        "mistral-v1": 2.896,
        "mistral-v3": 2.896,
    },
    "tr": {
        "cl100k": 2.793,
        "llama3": 2.078,
        "qwen": 2.407,
        "llama2": 3.518,
        "mistral-v1": 3.61,
        "mistral-v3": 3.61,
    },
    "vi": {
        "cl100k": 2.271,
        "llama3": 1.276,
        "qwen": 1.313,
        "llama2": 3.009,
        "mistral-v1": 2.907,
        "mistral-v3": 2.907,
    },
    "ar": {
        "cl100k": 4.212,
        "llama3": 2.36,
        "qwen": 2.358,
        "llama2": 5.329,
        "mistral-v1": 5.244,
        "mistral-v3": 5.244,
    },
    "hi": {
        "cl100k": 4.968,
        "llama3": 2.574,
        "qwen": 4.642,
        "llama2": 5.368,
        "mistral-v1": 5.15,
        "mistral-v3": 5.15,
    },
}
"""Tokens per word of the languages a text may be translated into that have no length grammar of their
own (Korean, Dutch, Polish, Turkish, Vietnamese, Arabic, Hindi), counted with the real tokenizers on
the same translations; None, families not listed: their mean. The grammar's nine languages use
:data:`~sagepred.length_instructions_multilingual.TOKENS_PER_WORD_BY_LANGUAGE`."""
for _table in TOKENS_PER_WORD_TRANSLATED.values():
    _table[None] = round(sum(_table.values()) / len(_table), 3)

LANGUAGE_NAMES: dict[str, str] = {
    "english": "en",
    "spanish": "es",
    "castilian": "es",
    "portuguese": "pt",
    "brazilian portuguese": "pt",
    "french": "fr",
    "italian": "it",
    "german": "de",
    "russian": "ru",
    "chinese": "zh",
    "mandarin": "zh",
    "simplified chinese": "zh",
    "traditional chinese": "zh",
    "japanese": "ja",
    "korean": "ko",
    "dutch": "nl",
    "flemish": "nl",
    "polish": "pl",
    "turkish": "tr",
    "vietnamese": "vi",
    "arabic": "ar",
    "hindi": "hi",
}
"""Target languages whose lengths are known (:data:`UNITS_PER_ENGLISH_WORD`)."""
_OTHER_LANGUAGES = (
    r"indonesian|swedish|norwegian|danish|"
    r"finnish|greek|hebrew|ukrainian|czech|slovak|romanian|hungarian|thai|persian|farsi|urdu|bengali|"
    r"tagalog|filipino|malay|swahili|latin|catalan|basque|galician|croatian|serbian|bulgarian|"
    r"lithuanian|latvian|estonian|icelandic|irish|welsh|esperanto|pig latin|old english|klingon"
)
"""Languages a translation may be asked into whose lengths are not known: no reading."""
_ANY_LANGUAGE = rf"{'|'.join(sorted(LANGUAGE_NAMES, key=len, reverse=True))}|{_OTHER_LANGUAGES}"
_LANGUAGE_LIST_ITEM = rf"(?:simplified\s+|traditional\s+|brazilian\s+|european\s+)?(?:{_ANY_LANGUAGE})"
_INTO_LANGUAGES = re.compile(
    rf"\b(?:to|into|in)\s+(?:both\s+)?(?:(?:natural|plain|simple|good|proper|formal|informal|fluent|modern|"
    rf"standard|everyday|correct|native|clear)\s+){{0,2}}(?P<names>{_LANGUAGE_LIST_ITEM}(?:\s*(?:,|and|&|/|plus|as\s+well\s+as)\s*"
    rf"(?:also\s+)?(?:(?:in|into)\s+)?{_LANGUAGE_LIST_ITEM})*)\b",
    re.IGNORECASE,
)
"""The languages listed after "into / to / in" ("into French, Spanish and German")."""
_LANGUAGE = re.compile(rf"\b(?P<name>{_ANY_LANGUAGE})\b", re.IGNORECASE)

_LANGUAGE_WORDS = "|".join(LANGUAGE_NAMES)
_LEAD = re.compile(
    r"(?:[.!?:;,\n(]|\b(?:and|then|please|pls|plz|kindly|just|now|also|you|u|me|to|help|hey|hi|ok|okay|so|"
    r"lol|lmao|omg|ugh|yo|hmm|um|btw))"
    r"[ \t]*$",
    re.IGNORECASE,
)
"""Where a request's verb may stand: a clause's start, "please", "can you", "help me", "I need you
to", "and then" (and "I need" before "need"); not "a tool to paraphrase text?" (that "to" follows no
request)."""
_NEED_LEAD = re.compile(r"\b(?:i|we)[ \t]+$", re.IGNORECASE)
_OPENING_WORDS = re.compile(
    r"\b(?:pls|plz|please|kindly|can|could|would|will|you|u|ok|okay|now|also|then|and|hey|hi)\b|[,.!?:;\s]",
    re.I,
)
"""Words that may open a request before its verb ("pls fix …", "Can you …")."""
_REQUEST_BEFORE_TO = re.compile(
    r"\b(?:you|u|me|want|need|like|love|able|wanted|said|asked|told\s+me)\s+to\s*$|"
    r"(?:^|[.!?:;,\n]\s*)to\s*$",
    re.IGNORECASE,
)
_SAME_VERBS = (
    r"translate|proof-?read|copy-?edit|edit|revise|rewrite|re-write|rephrase|paraphrase|reword|"
    r"re-word|polish|improve|refine|rework|redo|simplify|formali[sz]e|locali[sz]e|transliterate|"
    r"re-?format|format|modernize|modernise|soften|update|grammar[- ]?check|spell[- ]?check|"
    r"convert|turn|change|transform|adapt|fix|correct|make|put|need|anonymi[sz]e|redact|re-?draft|"
    r"add\s+(?:the\s+|some\s+)?(?:punctuation|capitals|capitali[sz]ation|commas|paragraph\s+breaks|line\s+breaks)"
)
_SHORTER_VERBS = (
    r"shorten|condense|trim|tighten|abridge|compress|streamline|"
    r"cut\s+(?:out\s+)?(?:the\s+|all\s+the\s+)?(?:fluff|filler|waffle|repetition|rambling)|cut|halve"
)
_LONGER_VERBS = (
    r"expand|elaborate(?:\s+on)?|lengthen|extend|enrich|"
    r"add\s+(?:some\s+|more\s+|a\s+bit\s+more\s+|a\s+little\s+more\s+)?(?:detail|details|depth|examples|context|substance)"
)
_PHRASAL_VERBS = (
    r"clean|tidy|spruce|punch|tone|cut|pare|flesh|beef|write|tighten|touch|smooth|jazz|boil|water|slim|trim"
)
_TRANSLATION_NOUN = r"(?:provide|need|want|give\s+me|do|make|write|get)\s+(?:me\s+)?(?:a|an|the)\s+(?:[\w-]+\s+){0,2}?translation"
"""Asking for a translation as a noun ("need a full translation", "provide an English translation")."""
_VERB = re.compile(
    rf"\b(?:(?P<phrasal>{_PHRASAL_VERBS})(?:\s+(?P<object>(?:this|it|these|them|that|my|our|the)(?:\s+[\w'’-]+){{0,3}}?))?"
    r"\s+(?P<particle>up|down|out)\b|"
    r"(?P<versions>(?:give\s+me|write|need|want)\s+(?P<n>\d|two|three|four|five)\s+(?:[\w-]+\s+){0,2}?"
    r"(?:versions|variations|rewrites|alternatives|takes)\s+of\b)|"
    rf"(?P<verb>{_TRANSLATION_NOUN}|{_SHORTER_VERBS}|{_LONGER_VERBS}|{_SAME_VERBS})\b|"
    rf"(?P<bare>what(?:'s|\s+is|\s+does)\s+(?:this|it|that)\b[^.?!\n]{{0,30}}?\bin(?=\s+(?:{_LANGUAGE_WORDS})\b)|"
    rf"(?=(?:{_LANGUAGE_WORDS})\s+(?:version\s+)?(?:please|pls|plz)\b)|in(?=\s+(?:{_LANGUAGE_WORDS})\s*,?\s*(?:please|pls|plz)\b)|"
    rf"(?=(?:{_LANGUAGE_WORDS})\s+version\s+of\s+(?:this|it|that|my|our|your|the)\b)))(?!-)",
    re.IGNORECASE,
)
"""A verb of rewriting ("Proofread", "translate", "make … sound", "flesh this out", "tone it down")."""

_TEXT_NOUNS = (
    r"e-?mails?|letters?|messages?|texts?|passages?|paragraphs?|sentences?|articles?|essays?|posts?|"
    r"blog(?:\s+post)?|poems?|songs?|lyrics|story|stories|abstracts?|documents?|docs?|descriptions?|bio|"
    r"notes?|drafts?|copy|content|speech|script|reviews?|captions?|announcements?|memo|statements?|"
    r"proposals?|reports?|intro(?:duction)?|cover\s+letter|resume|résumé|cv|writing|words|version|"
    r"response|reply|answer|translation|summary|outline|list|tweet|thread|page|chapter|section|"
    r"dialogue|dialog|conversation|transcript|recipe|instructions|bullet\s+points|bullets|pitch|blurb|"
    r"newsletter|invitation|apology|complaint|request|paper|thesis|manuscript|verses?|stanzas?|lines?|"
    r"notice|policy|handbook|faq|profile|listing|ad|advert|flyer|leaflet|brochure|card|toast|vows|"
    r"eulogy|sermon|obituary|job\s+ad"
)
_QUALITIES = r"tone|wording|language|style|grammar|spelling|punctuation|phrasing|flow|voice|register|typos?"
_OBJECT = re.compile(
    r"^\s*(?:"
    r"(?P<colon>:)|(?P<quote>[\"“'])|(?:and|&)\s+\w+\s+(?:it|this|them)\b|"
    r"(?:(?:all|any|the|these|those|this|that|it|them|my|our|his|her|their|your|following|above|below|"
    r"entire|whole|full|complete|same|next|original|text|of|in|on|for|and|to|into|from|a|an|bit|little|"
    r"slightly|more|less|spelling|grammar|grammatical|typos?|mistakes|errors|punctuation|issues|"
    r"problems|language|tone|style|wording|[a-z]+'s)\b\s*){0,6}"
    rf"(?P<reference>this|these|that|it|them|mine|ours|the\s+following|the\s+above|below|above|"
    r"(?:the\s+)?whole\s+thing|"
    rf"(?:the|this|that)\s+(?:[\w'’-]+\s+){{0,2}}(?:{_TEXT_NOUNS})|(?:my|our|his|her|their|your)\s+[\w'’-]+|"
    rf"the\s+(?:{_QUALITIES}))\b)",
    re.IGNORECASE,
)
"""What the verb takes: the whole text ("this", "the following", "my cover letter", "the grammar in
this", "the tone", a colon or a quotation before the text)."""
_ENDS_REQUEST = re.compile(
    r"^\s*(?:(?:it|this|that|them|these)\s+)?(?:(?:pls|plz|please|for me|thanks|thx|thank you|a bit|"
    r"again|asap)\b[\s,]*)*[.!?:]*\s*$",
    re.IGNORECASE,
)
"""The verb ends its request ("… translate pls", "Can you proofread?")."""
_FIX_OBJECT = re.compile(
    r"^\s*(?:up\s+)?(?:all\s+|any\s+|the\s+)?(?:spelling|grammar|grammatical|typos?|mistakes|errors|"
    r"punctuation|wording|language|tone|issues|this|it|mine|the\s+following|my\s+|the\s+(?:text|e-?mail|letter))",
    re.IGNORECASE,
)
""""fix" and "correct" take a text or its errors ("fix the typos", "correct this")."""
_AMOUNT = r"(?:about\s+|roughly\s+|around\s+)?(?:twice|half|three\s+times|\d+\s*(?:%|percent))"
_MAKE_OBJECT = re.compile(
    r"^\s*(?:this|it|that|these|them|the\s+(?:following|above|text|e-?mail|message|letter)|(?:my|our|your)\s+[\w-]+)"
    r"(?:\s+[\w'’-]+){0,5}?\s+(?:sound\s+|read\s+|look\s+|feel\s+)?(?:a\s+(?:bit|little|lot)\s+|much\s+|slightly\s+)?"
    rf"(?P<quality>{_AMOUNT}|more|less|friendlier|nicer|warmer|shorter|longer|briefer|tighter|crisper|"
    r"clearer|simpler|smoother|better|professional|formal|informal|casual|polite|concise|punchier|"
    r"gender-neutral|grammatical|correct|readable|persuasive|engaging|funnier|catchier|rhyme|flow|natural|"
    r"fluent|idiomatic|native)(?!\w)",
    re.IGNORECASE,
)
""""make" takes a text and a quality ("make this sound more professional", "make it about twice as long")."""
_GENRES = (
    r"essay|article|blog(?:\s+post)?|post|story|speech|proposal|report|letter|e-?mail|minutes|"
    r"paragraphs?|prose|narrative|announcement|newsletter|press\s+release|cover\s+letter|bio|summary|"
    r"pitch|abstract|caption|description|thread|script|outline|memo|steps|page|poem|song|rap|story"
)
_INTO_FORM = re.compile(
    r"^[^.?!\n]{0,60}?\b(?:into|to|in|as)\s+(?:the\s+|an?\s+|proper\s+|full\s+)?(?:[\w~-]+\s+){0,2}?(?:"
    r"passive|active|past|present|future|first|second|third|plain|simple|british|american|metric|imperial|"
    r"formal|informal|bullet|bulleted|numbered|markdown|html|latex|title\s+case|sentence\s+case|"
    r"uppercase|lowercase|voice|tense|person|spelling|units|haiku|limerick|sonnet|tweet|table|"
    rf"{_GENRES}|english|{'|'.join(LANGUAGE_NAMES)})\b",
    re.IGNORECASE,
)
""""convert", "turn", "transform" and "put" take a text and a target form or language."""
_INTO_GENRE = re.compile(
    rf"\b(?:into|as)\s+(?:an?\s+|proper\s+|full\s+)?(?:[\w-]+\s+){{0,2}}?(?:{_GENRES})\b", re.IGNORECASE
)
_CHANGE_OBJECT = re.compile(
    rf"^\s*the\s+(?:{_QUALITIES}|tense|person|point\s+of\s+view)\s+(?:of|in)\s+(?:this|it|that|the|my|our)\b",
    re.IGNORECASE,
)
""""change" takes the tone, style or tense of a text ("Change the tone of this announcement")."""
_IN_LANGUAGE = re.compile(
    r"^\s*(?:(?:it|this|these|that|them)(?:\s+[\w-]+){0,3}?\s+(?:translated\s+)?(?:in|into|to)\s+(?:both\s+)?|"
    rf"the\s+(?=(?:\w+\s+)?(?:{_LANGUAGE_WORDS})\s+version\s+of\b)){_LANGUAGE_LIST_ITEM}\b",
    re.IGNORECASE,
)
""""need it in French", "put this into simplified Chinese": a translation."""
_VERSION_OF = re.compile(
    r"^\s*(?:an?|the)\s+(?:[\w-]+\s+){0,2}?version\s+of\s+(?:this|it|that|my|our|your|the\s+(?:following|above))\b",
    re.I,
)
""""I need a shorter version of this": a rewrite."""

_PART = re.compile(
    r"^[^.?!\n:]{0,40}?\b(?<!\bthis )(?<!\bmy )(?<!\bour )(?:"
    r"(?:first|second|third|fourth|last|final|opening|closing|next)\s+(?:[\w-]+\s+)?(?:sentences?|paragraphs?|"
    r"lines?|parts?|sections?|pages?|chapters?|verses?|stanzas?|half|bits?|words?|two|three|few)|"
    r"(?:the|its|a)\s+(?:title|headline|subject\s+line|heading)|"
    r"(?:the|this|that|these|each|one|a)\s+(?:word|words|phrase|term|name|slogan)|"
    r"one\s+sentence|one\s+paragraph|a\s+sentence|a\s+paragraph|a\s+few|some\s+of|parts?\s+of|portion)\b",
    re.IGNORECASE,
)
"""The verb takes a part of the text ("rewrite only the first sentence", "translate the word …")."""
_SUMMARY_ASKED = re.compile(
    r"(?:^|[.?!\n]\s*)(?:(?:please|pls|and|then|also|now)\s+)*(?:summari[sz]e|tl;?\s*dr)\b", re.I
)
"""A sentence of the request that asks for a summary ("Translate it. Then summarize it.")."""
_SHARED_VERBS = frozenset({"revise", "edit", "format", "redact", "correct", "adapt"})
"""English verbs spelled alike in a language of :mod:`sagepred.transform_grammars` ("Revise a
gramática …"): read as English only when the request is."""
_REFUSED = re.compile(
    r"\b(?:don'?t|do\s+not|not)\s+(?P<verb>translate|rewrite|proofread|edit|fix|correct)\s+(?:it|this)\b",
    re.I,
)
"""The request forbids the transform ("… so please DON'T translate it")."""
_SUMMARY = re.compile(
    r"(?<!\bdon't )(?<!\bnot )(?<!\bno )(?<!\bnot a )(?<![\"“'])\bsummar|\btl;?\s*dr\b", re.IGNORECASE
)
_ASKS_OTHERWISE = re.compile(
    r"\bfeedback\b|\bcritique\b|\bgrade\b|\bscore\b|\brate\b|\bwhat do you think\b|\bkey points\b|"
    r"\bexplain\b|(?:^|[.?!,;]\s+)(?:what|which|why|how|is|are|does|do)\b|\bhow (?:do|can|would|should) (?:i|you|we)\b|"
    r"\bis (?:this|it|that) (?:correct|right|ok|okay|good|fine|grammatical)|\blist (?:the|all|any)\b|"
    r"\bpoint out\b|\bidentify\b|\bfind (?:the|all|any)\b|\bextract\b|(?<!\bthis )(?<!\bthe )(?<!\bmy )(?<!\bour )(?<!\byour )\breply\b|\brespond to\b|"
    r"\banswer\b|\btips\b|\badvice\b|\bsuggestions\b|\b(?:pull|pick)\s+out\b",
    re.IGNORECASE,
)
"""A request that asks about the text, or for another text, in the verb's sentence: no transform."""
_NEGATED = re.compile(
    r"\b(?:don'?t|do\s+not|doesn'?t|not|never|without|no)\b[^.?!\n]{0,40}?"
    r"\b(?:longer|shorter|expand\w*|shorten\w*|cut\w*|lengthen\w*|add\w*|more\s+words)\b",
    re.IGNORECASE,
)
_SHORTER = re.compile(
    r"\b(?:shorter|shorten|concise|concisely|briefer|brief|condense|trim|tighten|tighter|crisper|"
    r"compress|streamline|abridge|cut|pare|less\s+wordy|fewer\s+words|succinct|terser|leaner|"
    r"more\s+compact)\b",
    re.IGNORECASE,
)
_LONGER = re.compile(
    r"\b(?:longer|expand|elaborate|lengthen|flesh|extend|beef|enrich|more\s+detail(?:ed)?|in\s+(?:more\s+)?"
    r"detail|more\s+informative|more\s+thorough|fuller|write\s+(?:\w+\s+)?up)\b",
    re.IGNORECASE,
)
_PERCENT = re.compile(r"\b(?P<n>\d{1,2})\s*(?:%|percent)\s*(?P<way>shorter|longer|less|more)?", re.IGNORECASE)
_FOLLOW_UP = re.compile(
    r"^(?:(?:ok|okay|great|thanks|thank you|perfect|nice|good|cool|hmm)\W+)*(?:now\s+)?(?:a\s+bit\s+|much\s+|way\s+)?"
    r"(?P<bare>)(?:shorter|longer|half\s+the\s+length|twice\s+as\s+long|more\s+concise|less\s+wordy|briefer|"
    r"simpler|more\s+formal|less\s+formal|more\s+casual|more\s+detail(?:ed)?)\b",
    re.IGNORECASE,
)
"""A follow-up that names only the change ("shorter pls", "half the length", "more formal")."""
_SMALL_NUMBERS = {"two": 2, "three": 3, "four": 4, "five": 5}
_TIMES = {"half": 0.5, "twice": 2.0, "double": 2.0, "three times": 3.0, "a third": 0.67}
_TIMES_PATTERN = re.compile(
    r"\b(?:(?P<times>half|twice|three\s+times)\s+as\s+(?:long|short)|(?:by|in|to)\s+(?P<part>half|a\s+third)|"
    r"(?P<double>double)\s+(?:the\s+)?(?:length|it|this)|halve|half\s+(?:the|its)\s+(?:length|size))\b",
    re.IGNORECASE,
)
_IMPROVE_WORDING = re.compile(
    rf"^\s*(?:the\s+|its\s+|my\s+)?(?:{_QUALITIES}|clarity|readability|structure)\b", re.IGNORECASE
)
_LIST_LINE = re.compile(r"^\s*(?:[-*•–]|\d{1,2}[.)])\s+", re.MULTILINE)
_LABEL = re.compile(
    r"^\s*(?:input|text|context|sentence|paragraph|passage|e-?mail|message|original|draft|source|"
    r"content|here(?:'s| is) (?:the|my) [\w ]{1,20})\s*:\s*",
    re.IGNORECASE,
)
_BACK_REFERENCE = re.compile(
    r"\b(?:this|it|that|these|them|the\s+above|above|the\s+(?:text|e-?mail|message|letter|paragraph|"
    r"passage|essay|post|draft)|my\s+[\w-]+)\b",
    re.IGNORECASE,
)
_QUOTED = re.compile(r"\"([^\"\n]{8,2000})\"|“([^”\n]{8,2000})”|'([^'\n]{8,2000})'(?!\w)")
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uf900-\ufaff]")
_REQUEST_CHARS = 600
"""A request longer than this is not an instruction around pasted text."""
_FOREIGN_REQUEST_CHARS = 250
"""The same in the languages of :mod:`sagepred.transform_grammars`, whose verbs are read without their
object: a paragraph of pasted text is not taken for a request."""
_TRANSLATING = frozenset({"convert", "turn", "transform", "put"})
"""Verbs that may name a language to translate into ("convert this to Spanish")."""


@dataclass(frozen=True)
class PastedTransform:
    """A request to transform a pasted text, and the text.

    Attributes:
        verb: the request's verb as written ("Proofread", "translate", "make").
        source: the text the request works on.
        source_language: its language (ISO 639-1; ``"en"`` unless detected otherwise).
        target_language: the answer's language (the source's, or a translation's).
        factor: the answer's length over the text's ("shorten" 0.6, "expand" 2; × the translations asked).
        request: the request without the text.
    """

    verb: str
    source: str
    source_language: str
    target_language: str
    factor: float
    request: str

    @property
    def source_english_words(self) -> float:
        """The text's length in words of its English translation."""
        if self.source_language in CHARACTER_LANGUAGES:
            units = float(len(_CJK.findall(self.source)))
        else:
            units = float(len(self.source.split()))
        return units / UNITS_PER_ENGLISH_WORD[self.source_language]

    def requested_words(self) -> float:
        """The answer's length in words of :attr:`target_language` (Chinese, Japanese: characters):
        the text's times the factor, and a line of preamble."""
        english_words = self.source_english_words * self.factor + PREAMBLE_WORDS
        return english_words * UNITS_PER_ENGLISH_WORD[self.target_language]


_SCRIPTS = (
    ("ko", re.compile(r"[\uac00-\ud7a3]")),
    ("ar", re.compile(r"[\u0600-\u06ff]")),
    ("hi", re.compile(r"[\u0900-\u097f]")),
    ("vi", re.compile(r"[ăắằẳẵặơớờởỡợưứừửữựđẹẻẽếềểễệỉịọỏốồổỗộụủĂƠƯĐ]")),
    ("pl", re.compile(r"[ąęłńśźżĄĘŁŃŚŹŻ]")),
    ("tr", re.compile(r"[ğışĞŞİ]")),  # case-sensitive: with IGNORECASE "ı" matches every "i"
)
"""Languages without a grammar told by their script or their own letters (Dutch passes as English,
with as many words)."""


def text_language(text: str) -> str | None:
    """The language of a pasted text: one of :data:`UNITS_PER_ENGLISH_WORD`, None when another."""
    sample = text[:2000]
    letters = re.findall(r"[^\W\d_]", sample)
    for code, marks in _SCRIPTS:  # before the grammar's detection, which reads Polish as Portuguese
        if len(marks.findall(sample)) >= max(3, 0.02 * len(letters)):
            return code
    languages = detect_languages(text)
    if languages:
        return languages[0]
    letters = re.findall(r"[^\W\d_]", text[:2000])
    if letters and sum(ch.isascii() for ch in letters) < 0.8 * len(letters):
        return None  # a script of a language not read (Korean, Arabic, Greek, …)
    return "en"


def _verb_word(match: re.Match[str]) -> str:
    """The verb a match found, lower-cased ("flesh out", "proofread")."""
    groups = match.groupdict()
    if groups.get("phrasal"):
        return f"{groups['phrasal']} {groups['particle']}".lower()
    if groups.get("bare") is not None:
        return "translate" if "verb" in groups else "follow-up"
    if groups.get("versions"):
        return "versions"
    verb = (groups.get("verb") or "").lower()
    return "translate" if verb.endswith("translation") else verb.split()[0]


_NEEDS_AN_OBJECT = frozenset({"make", "put", "need", "change", "turn", "format", "update"})
"""Verbs that say nothing of a text alone ("Can you make it?", "I need it", "turn"): they need their object."""


def _object_ok(match: re.Match[str], after: str) -> bool:
    """Whether the words after the verb of ``match`` make it take the whole text."""
    if _PART.match(re.split(r"\b(?:into|to|as)\b", after, maxsplit=1)[0]):
        return False
    if match.group("phrasal"):
        return (
            bool(match.group("object"))
            or _OBJECT.match(after) is not None
            or _ENDS_REQUEST.match(after) is not None
        )
    word = _verb_word(match)
    if match.group("bare") is not None or word in ("add", "versions"):
        return True
    if _ENDS_REQUEST.match(after) and word not in _NEEDS_AN_OBJECT:
        return True
    if word in ("fix", "correct"):
        return _FIX_OBJECT.match(after) is not None or after.lstrip().startswith(":")
    if word == "make":
        return _MAKE_OBJECT.match(after) is not None or (
            _OBJECT.match(after) is not None and _INTO_FORM.match(after) is not None
        )
    if word in ("put", "need"):
        return (
            _IN_LANGUAGE.match(after) is not None
            or (word == "put" and _INTO_FORM.match(after) is not None)
            or (word == "need" and _VERSION_OF.match(after) is not None)
        )
    if word == "change":
        return _CHANGE_OBJECT.match(after) is not None or (
            _OBJECT.match(after) is not None and _INTO_FORM.match(after) is not None
        )
    if word in ("convert", "turn", "transform", "adapt"):
        return _OBJECT.match(after) is not None and _INTO_FORM.match(after) is not None
    if word == "translate":
        return _OBJECT.match(after) is not None or re.match(r"^\s*(?:to|into|in)\b", after, re.I) is not None
    return _OBJECT.match(after) is not None


def _target_languages(request: str, anywhere: bool = False) -> list[str] | None:
    """The languages a translation is asked into: the list after "into / to / in" ("into French,
    Spanish and German"), or with ``anywhere`` every language the request names; [] when none is
    named, None when one is named whose length is not known."""
    if anywhere:
        names = request
    else:
        into = _INTO_LANGUAGES.search(request)
        if into is None:
            return []
        names = into.group("names")
    codes: list[str] = []
    for match in _LANGUAGE.finditer(names):
        code = LANGUAGE_NAMES.get(match.group("name").lower())
        if code is None:
            return None
        if code not in codes:
            codes.append(code)
    return codes


def _factor(request: str, verb: str, source: str) -> float:
    """The answer's length over the text's as ``request`` (from its verb on) asks: an amount ("half as
    long", "30% shorter", "twice as long"), else shorter 0.6 and longer 2; "improve" and a list
    turned into prose ("turn these notes into an e-mail") are longer (on the data, "improve this
    rap song" and "improve the article" are answered in 4–6× the text), unless the wording alone is
    to improve."""
    request = _NEGATED.sub(" ", request)
    versions = _VERB.match(request)
    if versions is not None and versions.group("versions"):
        return float(_SMALL_NUMBERS.get(versions.group("n").lower()) or versions.group("n"))
    times = _TIMES_PATTERN.search(request)
    if times is not None:
        key = times.group("times") or times.group("part") or times.group("double") or "half"
        return _TIMES[re.sub(r"\s+", " ", key.lower())]
    percent = _PERCENT.search(request)
    if percent is not None and (percent.group("way") or _SHORTER.search(request) or _LONGER.search(request)):
        share = int(percent.group("n")) / 100
        longer = (percent.group("way") or "").lower() in ("longer", "more") or (
            not percent.group("way") and not _SHORTER.search(request)
        )
        return 1 + share if longer else 1 - share
    if _SHORTER.search(request):
        return SHORTER_FACTOR
    if _LONGER.search(request):
        return LONGER_FACTOR
    after_verb = request[len(verb) :] if request.lower().startswith(verb) else request
    if verb == "improve" and not _IMPROVE_WORDING.match(after_verb):
        return LONGER_FACTOR
    lines = [line for line in source.splitlines() if line.strip()]
    is_list = len(lines) >= 3 and len(_LIST_LINE.findall(source)) >= 0.5 * len(lines)
    if is_list and _INTO_GENRE.search(request):
        return LONGER_FACTOR
    return 1.0


def _opens_text(match: re.Match[str], after: str) -> bool:
    """Whether a verb whose request ends in a colon takes the text that follows: the verbs of
    rewriting do ("Rewrite in third person for the speaker bio:"), not "make" or "put" without their
    object, nor a part ("Rewrite the first line:")."""
    if _verb_word(match) in _NEEDS_AN_OBJECT | {"fix", "correct", "cut"}:
        return False
    return _PART.match(after) is None


def _sentence_at(text: str, position: int) -> str:
    """The sentence of ``text`` around ``position``."""
    start = max(text.rfind(mark, 0, position) for mark in ".?!\n") + 1
    ends = [i for i in (text.find(mark, position) for mark in ".?!\n") if i >= 0]
    return text[start : min(ends) + 1 if ends else len(text)]


def _request_verb(text: str, *, closing: bool) -> re.Match[str] | None:
    """The first verb in ``text`` that opens a request on the whole pasted text (``closing``: the
    request follows the text, so it must point back at it: "this", "it", "the above"; a request that
    ends in a colon before the text needs no object: "Rewrite in third person for the website:")."""
    opens_text = not closing and text.rstrip().endswith(":")
    for match in _VERB.finditer(text):
        before = text[: match.start()]
        window = before[-16:]
        if before.strip() and not (
            _LEAD.search(window) or (match.group(0).lower().startswith("need") and _NEED_LEAD.search(window))
        ):
            continue
        if before.rstrip().lower().endswith("to") and not _REQUEST_BEFORE_TO.search(before[-40:]):
            continue
        if _quoted_at(text, match.start()):
            continue
        after = text[match.end() :]
        if not _object_ok(match, after) and not (opens_text and _opens_text(match, after)):
            continue
        opens = not _OPENING_WORDS.sub("", before).strip()
        if closing and not (match.group("object") or _BACK_REFERENCE.search(after[:80]) or opens):
            continue
        if match.group("bare") is None and _ASKS_OTHERWISE.search(_sentence_at(text, match.start())):
            continue
        return match
    return None


def _strip_label(source: str) -> str:
    return _LABEL.sub("", source, count=1).strip()


_Finder = Callable[..., "re.Match[str] | None"]


def _split(prompt: str, find_verb: _Finder) -> tuple[str, str, re.Match[str]] | None:
    """``(request, pasted text, verb match in request)`` of a prompt that pastes a text, or None;
    ``find_verb(text, closing=…)`` finds the request's verb (:func:`_request_verb` in English)."""
    text = prompt.strip()
    found: dict[tuple[str, bool], re.Match[str] | None] = {}

    def find_verb_once(part: str, closing: bool) -> re.Match[str] | None:
        if (
            part,
            closing,
        ) not in found:  # the first line is often the first paragraph, the last line the last
            found[part, closing] = find_verb(part, closing=closing)
        return found[part, closing]

    paragraphs = [p for p in re.split(r"\n\s*\n", text) if p.strip()]
    lines = [line for line in text.splitlines() if line.strip()]
    # the request opens: its first line (up to a colon) or first paragraph
    first = lines[0] if lines else ""
    head = first if len(first) <= _REQUEST_CHARS else ""
    if head:
        match = find_verb_once(head, False)
        if match is not None:
            colon = max(head.find(":", match.end()), head.find("：", match.end()))
            rest_of_line = head[colon + 1 :].strip() if colon >= 0 else ""
            after_first = text[text.find(first) + len(first) :]
            if rest_of_line and len(after_first.split()) >= max(
                MIN_SOURCE_WORDS, 2 * len(rest_of_line.split())
            ):
                rest_of_line = ""  # "I need two versions of this: one formal, one casual\n\n<text>"
            request = head[: colon + 1] if colon >= 0 and rest_of_line else head
            source = (rest_of_line + "\n" + after_first).strip() if rest_of_line else after_first.strip()
            source = _strip_label(source)
            if len(source.split()) >= MIN_SOURCE_WORDS or _CJK.search(source):
                return request, source, match
            quoted = _quoted_source(head, match)
            if quoted is not None and len(lines) == 1:
                return head, quoted, match
    if len(paragraphs) >= 2 and len(paragraphs[0]) <= _REQUEST_CHARS:
        match = find_verb_once(paragraphs[0], False)
        if match is not None:
            return paragraphs[0], _strip_label("\n\n".join(paragraphs[1:])), match
    # the request closes: its last paragraph (or line) points back at the text above
    for closing in (paragraphs[-1] if len(paragraphs) >= 2 else "", lines[-1] if len(lines) >= 2 else ""):
        if closing and len(closing) <= _REQUEST_CHARS and not _quoted_at(text, text.rfind(closing)):
            match = find_verb_once(closing, True)
            if match is not None:
                return closing, _strip_label(text[: text.rfind(closing)]), match
    return None


def _quoted_at(text: str, position: int) -> bool:
    """Whether ``position`` of ``text`` lies inside a quotation (the last line of a pasted, quoted
    message: "… Fix it or I'm leaving.\"")."""
    before = text[:position]
    return before.count('"') % 2 == 1 or before.count("“") > before.count("”")


def _quoted_source(line: str, match: re.Match[str]) -> str | None:
    """A quoted text after the verb in ``line`` ("Edit the following sentence: "…"")."""
    quoted = _QUOTED.search(line, match.end())
    if quoted is None:
        return None
    return next(group for group in quoted.groups() if group is not None)


_FIELD_LABEL = re.compile(r"\w+[ \t]*:[ \t]*[^\s]")
"""A verb used as a field's label with its value on the same line ("Format: prose with the steps inline")."""
_LABEL_OF_A_LAYOUT = re.compile(r"\w+[ \t]*:[ \t]*\n[ \t]*(?:[-*•]|\d{1,2}[.)])[ \t]+\S")
"""A verb used as the label of a layout of bullets below it ("Format:\n- Headline (max 15 words)")."""


def _value_is_the_source(request: str, match: re.Match[str], source: str) -> bool:
    """Whether the text after a verb used as a label is the pasted text ("Translate: Bonjour à tous"),
    not a field's value ("Format: Workshop, 1 Tag")."""
    line_end = request.find("\n", match.end())
    value = request[match.end() : line_end if line_end >= 0 else len(request)].lstrip(" \t:")
    return bool(value) and source.lstrip().startswith(value[:20])


def find_transform(prompt: str, previous_answer: str | None = None) -> PastedTransform | None:
    """The request in ``prompt`` to transform a pasted text, or None (see the module docstring).

    ``previous_answer`` is the conversation's last assistant turn: a request that pastes nothing
    ("Make it shorter", "Now translate it into German") works on it.
    """
    split = _split(prompt, _request_verb) or _on_previous_answer(
        prompt, previous_answer, lambda text: _request_verb(text, closing=False) or _FOLLOW_UP.match(text)
    )
    if split is None:
        return None
    request, source, match = split
    if _LABEL_OF_A_LAYOUT.match(request, match.start()) or (
        _FIELD_LABEL.match(request, match.start()) and not _value_is_the_source(request, match, source)
    ):
        return None  # a template's field: "Length: 2 pages\nFormat: memo header, then prose"
    verb = _verb_word(match)
    refused = _REFUSED.search(request)
    if refused and refused.group("verb").lower() == verb:
        return None  # "… so please DON'T translate it"
    summary = _SUMMARY.search(_sentence_at(request, match.start())) or _SUMMARY_ASKED.search(request)
    if summary or (verb in _SHARED_VERBS and detect_languages(request)):
        return None  # a summary; "Revise a gramática deste e-mail" (its own grammar reads it)
    source_language = text_language(source)
    if source_language is None:
        return None
    factor = _factor(request[match.start() :].strip(), verb, source)
    target = source_language
    translation = verb == "translate" or _IN_LANGUAGE.match(request[match.end() :]) is not None
    if translation or verb in _TRANSLATING:
        targets = _target_languages(request[match.end() :])
        if not targets and translation:  # "Nonna's recipe, in Italian. English please!"
            named = _target_languages(request[match.end() :], anywhere=True) or _target_languages(
                request, anywhere=True
            )
            targets = None if named is None else [code for code in named if code != source_language]
        if targets is None:
            return None
        if targets:
            target, factor = targets[0], factor * len(targets)
        elif translation:
            if source_language == "en":
                return None
            target = "en"
    return _long_prose(
        PastedTransform(match.group(0).strip(), source, source_language, target, factor, request)
    )


def _on_previous_answer(
    prompt: str, previous_answer: str | None, find_verb: Callable[[str], re.Match[str] | None]
) -> tuple[str, str, re.Match[str]] | None:
    """:func:`_split`'s result for a follow-up that pastes nothing ("Make it shorter"): the request
    works on the conversation's previous answer."""
    if not previous_answer or len(prompt) > _REQUEST_CHARS:
        return None
    match = find_verb(prompt.strip())
    return (prompt.strip(), previous_answer, match) if match is not None else None


def _long_prose(transform: PastedTransform) -> PastedTransform | None:
    """``transform``, unless its text is shorter than :data:`MIN_SOURCE_WORDS` or is not prose."""
    if transform.source_english_words < MIN_SOURCE_WORDS:
        return None
    return transform if _is_prose(transform.source, transform.source_language) else None


_CODE_LINE = re.compile(
    r"^\s*(?:def |class \w+\s*[(:]|import \w|from \w+ import|#include|function\b|const |let |var |public |private |"
    r"(?:for|while|if|elif|else|try|except|with)\b[^\n]*[)\]]:\s*$|return\b|print\()|[{}]\s*$|[=(][^\n]*;\s*$|```",
    re.MULTILINE,
)


def _is_prose(text: str, language: str) -> bool:
    """Whether a pasted text is mostly words (not code, an equation, a table of numbers or markup)."""
    lines = [line for line in text.splitlines() if line.strip()]
    if lines and len(_CODE_LINE.findall(text)) >= max(1, 0.2 * len(lines)):
        return False
    if language in CHARACTER_LANGUAGES or language in ("ko", "ar", "hi"):
        return True  # scripts whose words the word pattern below splits (Devanagari's vowel signs)
    tokens = text.split()
    words = sum(
        1
        for token in tokens
        if re.fullmatch(r"[\"“‘'(\[]*[^\W\d_]+(?:['’-][^\W\d_]+)*[\"”’'.,;:!?)\]]*", token)
    )
    return words >= 0.6 * len(tokens)


@functools.cache
def _foreign(code: str) -> dict[str, re.Pattern[str]]:
    """The compiled :data:`~sagepred.transform_grammars.TRANSFORM_WORDS` of one language."""
    words = TRANSFORM_WORDS[code]
    edge = "" if code in CHARACTER_LANGUAGES else r"(?<!\w)"

    def compiled(alternation: str) -> re.Pattern[str]:
        return re.compile(rf"{edge}(?:{alternation})", re.IGNORECASE)

    names = "|".join(f"(?P<{target}>{name})" for name, target in words.languages.items())
    return {
        "verb": compiled(rf"(?P<translate>{words.translate})|(?P<rewrite>{words.rewrite})"),
        "half": compiled(words.half),
        "shorter": compiled(words.shorter),
        "longer": compiled(words.longer),
        "summary": compiled(words.summary),
        "asks_about": compiled(words.asks_about),
        "languages": compiled(names),
    }


def _foreign_verb(code: str) -> _Finder:
    """:func:`_split`'s verb finder for a request in language ``code``."""
    patterns = _foreign(code)

    def find(text: str, closing: bool = False) -> re.Match[str] | None:
        if len(text) > _FOREIGN_REQUEST_CHARS:
            return None  # no object is checked, so only a short request is read
        for match in patterns["verb"].finditer(text):
            if not _quoted_at(text, match.start()):
                return match
        return None

    return find


_JOINED = re.compile(
    r"\s*(?:,|、|和|と|/|y|e|et|und|и|o|ou|oder)?\s*(?:(?:al|a|ao|à|au|en|in|ins|auf|на|成|に)\s+)?", re.I
)
"""What may stand between two target languages of one request ("y al", "und ins", "和")."""


def _clause_at(text: str, position: int) -> str:
    """The clause of ``text`` around ``position`` (between commas, stops and line breaks)."""
    marks = ".?!\n,;，。？！；、"
    start = max(text.rfind(mark, 0, position) for mark in marks) + 1
    ends = [i for i in (text.find(mark, position) for mark in marks) if i >= 0]
    return text[start : min(ends) if ends else len(text)]


def _foreign_targets(text: str, code: str) -> list[str]:
    """The languages named first in ``text`` (in language ``code``), with those joined to it ("al
    inglés y al francés", "英文和日文"), once each; not a language named later for another reason
    ("… al inglés, que es alemán")."""
    targets: list[str] = []
    end = None
    for match in _foreign(code)["languages"].finditer(text):
        if end is not None and not _JOINED.fullmatch(text[end : match.start()]):
            break
        target = next(name for name, value in match.groupdict().items() if value)
        if target not in targets:
            targets.append(target)
        end = match.end()
    return targets


def find_foreign_transform(
    prompt: str, languages: list[str], previous_answer: str | None = None
) -> PastedTransform | None:
    """:func:`find_transform` for a request in one of ``languages`` (those of
    :data:`~sagepred.transform_grammars.TRANSFORM_WORDS`; the first that reads one wins)."""
    lines = [line for line in prompt.strip().splitlines() if line.strip()]
    ends = (lines[0][:_REQUEST_CHARS], lines[-1][:_REQUEST_CHARS]) if lines else ()
    candidates = languages[:1] + [code for end in ends for code in detect_languages(end)[:1]]
    for code in dict.fromkeys(candidates):
        if code not in TRANSFORM_WORDS:
            continue
        find = _foreign_verb(code)
        split = _split(prompt, find) or _on_previous_answer(prompt, previous_answer, find)
        if split is None:
            continue
        request, source, match = split
        patterns = _foreign(code)
        said_in = detect_languages(request)
        if said_in and code not in said_in:
            continue  # another language's words ("NON correggere" read as Spanish)
        if len(source) < len(request.replace(source, "")) or patterns["summary"].search(
            _clause_at(request, match.start())
        ):
            continue  # the "request" is the pasted text; a summary
        if patterns["asks_about"].search(request) or patterns["asks_about"].search(ends[0] if ends else ""):
            continue
        source_language = text_language(source)
        if source_language is None:
            continue
        after = (
            request if code in CHARACTER_LANGUAGES else request[match.start() :]
        )  # verb-final: cues before
        factor = 1.0
        for cue, value in (("half", 0.5), ("shorter", SHORTER_FACTOR), ("longer", LONGER_FACTOR)):
            if patterns[cue].search(after):
                factor = value
                break
        target = "en" if source_language == "en" else code  # the user's own text, unless pasted English
        if match.group("translate"):
            targets = _foreign_targets(request[match.end() :], code) or _foreign_targets(request, code)
            targets = [t for t in targets if t != source_language] or targets
            if targets:
                target, factor = targets[0], factor * len(targets)
            else:
                target = "en" if source_language != "en" else code
        transform = _long_prose(
            PastedTransform(match.group(0), source, source_language, target, factor, request)
        )
        if transform is not None:
            return transform
    return None
