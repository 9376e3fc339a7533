"""The length-instruction parser: units, number words, ranges, bounds, relative requests."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from sagepred.length_instructions import (
    NO_REQUEST,
    SHORT_ANSWER_TOKENS,
    TOKENS_PER_WORD,
    WORDS_PER_FORM,
    WORDS_PER_PART_ITEM,
    WORDS_PER_UNIT,
    LengthRequest,
    chat_turns,
    parse_length_request,
    parse_number,
)
from sagepred.list_sizes import list_words
from sagepred.probes import read_probes, score_parser

DATA = Path(__file__).resolve().parents[1] / "data"

PROBE_FILES = [
    Path(__file__).resolve().parents[1] / "data" / name
    for name in ("length_probes.jsonl", "length_probes_varied.jsonl", "length_probes_requirements.jsonl")
]


@pytest.mark.parametrize(
    ("text", "value"),
    [("2,000", 2000), ("2.000", 2000), ("2\u202f000", 2000), ("2.5", 2.5), ("1.5k", 1500), ("three", 3), ("two hundred and fifty", 250), ("a dozen", 12),
     ("twenty-five", 25), ("one thousand two hundred", 1200), ("banana", None)],
)  # fmt: skip
def test_parse_number(text: str, value: float | None) -> None:
    assert parse_number(text) == value


@pytest.mark.parametrize(
    ("prompt", "unit", "words"),
    [
        ("In one word, what is the French Revolution mainly about?", "one_word", 1.0),
        ("Is Paris in France? Answer yes or no.", "yes_no", 1.0),
        ("Explain the tides in three sentences.", "sentence", 3 * WORDS_PER_UNIT["sentence"]),
        ("Write a 200-word summary of the war.", "word", 200.0),
        ("Write a comprehensive 2,000-word essay on Rome", "word", 2000.0),
        ("Write a 1000-1250 word two-topic essay", "word", 1125.0),
        ("Summarise the book in two paragraphs.", "paragraph", 2 * WORDS_PER_UNIT["paragraph"]),
        ("List 50 facts about cats.", "item", list_words(50, "point")),
        ("Write 50 short stories under ten words", "items_of", 50 * 10 * 0.8),
        ("Write two hundred and fifty words on cats", "word", 250.0),
        ("Write a story of at most 100 words", "word", 80.0),
        ("Summarize the given story in 75-100 words.", "word", 87.5),
        ("Read the text and generate a 3-5 sentence summary.", "sentence", 4 * WORDS_PER_UNIT["sentence"]),
        ("Act like a student and write a 1000-1250 word essay on cities.", "word", 1125.0),
        ("I want you to write a 500-word essay on cats.", "word", 500.0),
        ("Can you come up with a two word name for the club?", "word", 2.0),
        ("Describe the ocean in one sentence.", "sentence", WORDS_PER_UNIT["sentence"]),
        ("Explain, in roughly 800 words, how vaccines work.", "word", 800.0),
        ("Keep your answer to 50 words: what is inflation?", "word", 40.0),
        (
            "Describe a tiger, no longer than three sentences.",
            "sentence",
            0.8 * 3 * WORDS_PER_UNIT["sentence"],
        ),
        (
            "Write a product description, maximum 280 characters.",
            "character",
            0.8 * 280 * WORDS_PER_UNIT["character"],
        ),
        ("Summarise the film in ~150 words.", "word", 150.0),
        ("Give a one-line answer: who painted the Mona Lisa?", "one_line", WORDS_PER_UNIT["line"]),
        ("Write a haiku about the sea.", "form", WORDS_PER_FORM["haiku"]),
        ("Compose three limericks about cats.", "form", 3 * WORDS_PER_FORM["limerick"]),
        ("Can you write me a sonnet about spring?", "form", WORDS_PER_FORM["sonnet"]),
        ("Draft a tweet announcing our launch.", "form", WORDS_PER_FORM["tweet"]),
        ("Respond with just a number: how many moons has Mars?", "short_answer", 1.0),
        ("Answer with a single letter.", "short_answer", 1.0),
        ("Reply only with the final answer: what is 17 * 3?", "short_answer", 1.0),
        ("Which year did the war end? Just the year.", "short_answer", 1.0),
        ("Who wrote Emma? Only the name, please.", "short_answer", 1.0),
        ("What's 12 times 12? Reply with the number only.", "short_answer", 1.0),
        ("Write a paragraph about dogs.", "paragraph", WORDS_PER_UNIT["paragraph"]),
        ("Describe the Eiffel Tower in a sentence.", "sentence", WORDS_PER_UNIT["sentence"]),
        ("Write a page about the history of tea.", "page", WORDS_PER_UNIT["page"]),
        ("Write between 200 and 300 words on cats.", "word", 250.0),
        ('Respond with only "yes" or "no": is it raining?', "yes_no", 1.0),
        ("True or false: the sun is a star.", "yes_no", 1.0),
        ("Write a 3,000+ word essay about the Cold War.", "word", 3000 * 1.15),
        ("Write an essay on the Cold War. Length: 3000 words.", "word", 3000.0),
        ("Word count: 1500. Topic: climate change.", "word", 1500.0),
        ("Give me a thorough, 5000-word analysis of the French Revolution.", "word", 5000.0),
        ("Describe the French Revolution in a haiku.", "form", WORDS_PER_FORM["haiku"]),
        ("Suggest three unique words to describe a waterfall.", "item", list_words(3, "label")),
        ("Write 5 words that rhyme with cat.", "item", list_words(5, "label")),
        ("Explain it in 10 words for a child.", "word", 10.0),
        ("Write 10-15 words about yourself.", "word", 12.5),
        ("Write 100 words for a blog post.", "word", 100.0),
        (
            "Give me 3 examples of a vocabulary word that means determined.",
            "item",
            list_words(3, "thing"),
        ),
        (
            "Create a script of four to five sentences for a conversation.",
            "sentence",
            4.5 * WORDS_PER_UNIT["sentence"],
        ),
        # the length as a requirement after the task, a clause of its own, a request
        ("Write an essay. It should be 800 words.", "word", 800.0),
        (
            "Explain tides. Your response should contain 4 paragraphs.",
            "paragraph",
            4 * WORDS_PER_UNIT["paragraph"],
        ),
        ("Write about bees. There should be 3 paragraphs.", "paragraph", 3 * WORDS_PER_UNIT["paragraph"]),
        ("Describe the taste of tea. Make it 120 words.", "word", 120.0),
        ("The essay has to be 1,200 words. Topic: trust.", "word", 1200.0),
        ("Write a story for kids. It shouldn't be longer than 200 words.", "word", 0.8 * 200),
        ("Write about coffee in no fewer than 600 words.", "word", 1.15 * 600),
        ("Write a history of the Silk Road, 1,500 words.", "word", 1500.0),
        ("Essay on war - 2000 words", "word", 2000.0),
        ("I need a 3,500-word report on reef tourism.", "word", 3500.0),
        ("I'd like a detailed 1000-word essay on the Cold War.", "word", 1000.0),
        ("Write a paragraph of about 150 words on bees.", "word", 150.0),
        (
            "Write a sentence about the article using two of the words from the headline.",
            "sentence",
            WORDS_PER_UNIT["sentence"],
        ),
        ("Describe a coral reef in a sentence of 25 words.", "word", 25.0),
        ("Give me a paragraph-long description of Paris.", "paragraph", WORDS_PER_UNIT["paragraph"]),
        ("Write half a page about your childhood.", "page", 0.5 * WORDS_PER_UNIT["page"]),
        ("Write a poem with four stanzas about the sea.", "stanza", 4 * WORDS_PER_UNIT["stanza"]),
        ("Write a 3-minute speech for my sister's wedding.", "minute", 3 * WORDS_PER_UNIT["minute"]),
        ("Write a eulogy, about five minutes long when read aloud.", "minute", 5 * WORDS_PER_UNIT["minute"]),
        # terse and typographic forms
        ("essay 2000 words about war", "word", 2000.0),
        ("500 word essay on dogs", "word", 500.0),
        ("3 para essay on dogs", "paragraph", 3 * WORDS_PER_UNIT["paragraph"]),
        ("Write a story: 500 words.", "word", 500.0),
        ("describe rome in <= 200 words", "word", 0.8 * 200),
        ("Write a 2.000 word essay about war.", "word", 2000.0),
        ("Write a 2\u00a0000-word essay about war.", "word", 2000.0),
        ("give me a one-liner about cats", "one_line", WORDS_PER_UNIT["line"]),
        ("Y/N: is water wet?", "yes_no", 1.0),
        # forms a blind probe set found (written by a helper that never saw the parser; these are other words)
        ("Draft a cover letter for a barista job, word count 300", "word", 300.0),
        ("Write a product blurb for a kettle, approx. 60 words.", "word", 60.0),
        ("Outline 6 tips for saving energy at home.", "item", list_words(6, "point")),
        ("List the 4 seasons and what happens in each.", "item", list_words(4, "thing")),
        ("Write a review of my favourite cafe. 400-600 words please.", "word", 500.0),
        (
            "Write a toast for my parents - two paragraphs is fine.",
            "paragraph",
            2 * WORDS_PER_UNIT["paragraph"],
        ),
        ("Write the club newsletter intro. 150 words, upbeat tone.", "word", 150.0),
        ("Is the sun a star? yes/no only", "yes_no", 1.0),
        ("What is the chemical symbol for iron? Answer only with the symbol.", "short_answer", 1.0),
        ("Is this email spam? Reply spam or not-spam.", "short_answer", 1.0),
        ("Tone of this text: 'Great job!' Answer happy, sad, or angry - one word.", "one_word", 1.0),
        # forms the second blind set found (other words here)
        ("Write a newsletter blurb on our move. Aim for 250 words.", "word", 250.0),
        ("Write an apology note. Cap it at 80 words.", "word", 0.8 * 80),
        ("Essay prompt: the history of canals. Min. 300 words.", "word", 1.15 * 300),
        ("I need four paragraphs on the history of jazz.", "paragraph", 4 * WORDS_PER_UNIT["paragraph"]),
        ("Need a 60-word bio for my bakery's website.", "word", 60.0),
        ("Need 200 words on why libraries matter.", "word", 200.0),
        ("We need a one-pager on our refund policy. Can you draft it?", "page", WORDS_PER_UNIT["page"]),
        ("Classify this message as URGENT or ROUTINE. Output only the tag.", "short_answer", 1.0),
        (
            "Which is larger, 2/3 or 0.6? Reply with just the larger number, nothing else.",
            "short_answer",
            1.0,
        ),
        ("What is the chemical symbol for silver? Symbol only.", "short_answer", 1.0),
        ("Is this review positive? 'Loved every minute' y/n", "yes_no", 1.0),
        (
            "The memo below is about 2,000 words. Give me a 2-sentence summary.",
            "sentence",
            2 * WORDS_PER_UNIT["sentence"],
        ),
        # forms the third blind set found (other words here)
        ("Write a thank-you email to the caterer. Maybe 120 word is ok.", "word", 120.0),
        ("a tagline for our new gym, we open monday!! 8 words tops", "word", 8.0),
        (
            "Prepare a memo on the new parking rules. Limit: 200 words. Points: fees, hours.",
            "word",
            0.8 * 200,
        ),
        (
            "You are a ticket router. Output exactly one label, SALES or SUPPORT, for this message.",
            "short_answer",
            1.0,
        ),
        (
            "Can a store return a used item to the supplier? Answer in one sentence.",
            "sentence",
            WORDS_PER_UNIT["sentence"],
        ),
        (
            "My boss wants a 3,000-word report, but for now just write the title in one sentence.",
            "sentence",
            WORDS_PER_UNIT["sentence"],
        ),
        # forms the fourth blind set found (other words here)
        ("Please write a ~600-word feature on city gardens.", "word", 600.0),
        ("Half a page on the history of chess, please.", "page", 0.5 * WORDS_PER_UNIT["page"]),
        ("Never go over 40 words: describe our opening hours.", "word", 0.8 * 40),
        ("I have to hand in a five-hundred-word essay on rivers. Can you write it?", "word", 500.0),
        ("Earlier you wrote a 700-word post. Now cut it to 300 words.", "word", 300.0),
        (
            "No longer than a paragraph, please: why do dogs yawn?",
            "paragraph",
            0.8 * WORDS_PER_UNIT["paragraph"],
        ),
        ("I need a full page on the rules of chess for a handout.", "page", WORDS_PER_UNIT["page"]),
        ("Give me one word that sums up autumn.", "one_word", 1.0),
        ("capital of peru?? one word pls", "one_word", 1.0),
        ("Atomic number of carbon - number only, nothing else.", "short_answer", 1.0),
        (
            "Please keep my reply to three sentences. Here is the email: ...",
            "sentence",
            0.8 * 3 * WORDS_PER_UNIT["sentence"],
        ),
        # forms the fifth blind set found (other words here)
        ("Please write me essay about my village festival, 250 words minimum. Thank you.", "word", 250.0),
        (
            "Write a review of my favourite film, around half a page, for the club blog.",
            "page",
            0.5 * WORDS_PER_UNIT["page"],
        ),
        ("Is this regex valid? yes or no  ^[a-z]+$", "yes_no", 1.0),
        ("Who painted the Mona Lisa? Name only, no explanation.", "short_answer", 1.0),
        (
            'Is this review positive, negative or mixed? Label only.  "Great food, slow service"',
            "short_answer",
            1.0,
        ),
        ("Our manager wrote a 5-page memo. Keep the summary to 80 words.", "word", 0.8 * 80),
        # forms the sixth blind set found (other words here)
        ("yo write me a 12-line poem about my cat lol", "line", 12 * WORDS_PER_UNIT["line"]),
        ("Convert 5 miles to km, just the number.", "short_answer", 1.0),
        (
            "My tutor wants 3 pages on Dante but first I just need a plan, 5 bullet points.",
            "item",
            list_words(5, "point"),
        ),
        ("Write a feature on rooftop farms. It should run about 700 words.", "word", 700.0),
        # the seventh (negatives) set's lessons (other words here)
        ("Merge these notes into a single paragraph: …", "paragraph", WORDS_PER_UNIT["paragraph"]),
        ("Split the text below into three sentences.", "sentence", 3 * WORDS_PER_UNIT["sentence"]),
        # the eighth set's lessons (other words here)
        (
            "hi, can you write for me 3 sentences about my hometown?",
            "sentence",
            3 * WORDS_PER_UNIT["sentence"],
        ),
        ("Three pages on how canals were built, please.", "page", 3 * WORDS_PER_UNIT["page"]),
        ("Could you do a ~60 word blurb for my shop?", "word", 60.0),
        ("Who painted The Night Watch? Only the painter's name.", "short_answer", 1.0),
        # the ninth (negatives) set's lessons (other words here)
        (
            "Ad: apply with CV (max 2 pages). My background: retail. Write the cover letter, about 250 words.",
            "word",
            250.0,
        ),
        (
            "Our style guide: titles under 60 characters. Rewrite this blurb in 3 sentences: ...",
            "sentence",
            3 * WORDS_PER_UNIT["sentence"],
        ),
        ("Does dict.get() raise KeyError? Answer true or false.", "yes_no", 1.0),
        # yes / no and a quoted reply
        ("Is Paris the capital of France? Yes or no.", "yes_no", 1.0),
        ("Does water boil at 100C? (yes/no)", "yes_no", 1.0),
        ("Say nothing but yes or no: is 7 prime?", "yes_no", 1.0),
        ("Respond to the following statement with a yes or no.", "yes_no", 1.0),
        ("Please answer with a simple yes or no: is ice cold?", "yes_no", 1.0),
        ('If you understand, reply with just "OK".', "short_answer", 1.0),
        ("What is 17 times 23? Answer with the number alone.", "short_answer", 1.0),
        # a size as its own sentence after a question (a question asks too)
        ("What does idempotent mean? One sentence please.", "sentence", 18.0),
        ("Why is the sky blue? Two paragraphs max.", "paragraph", 94.0),  # a bound after: not scaled
        # a list asked as a question, the top N, a fixed form counted, yes or no opening or closing
        ("What are four ways to save money?", "item", list_words(4, "point")),
        ("Max 3 bullets: pros of remote work", "item", list_words(3, "point")),  # a bound keeps the count
        # words as a list's items, not as its length
        (
            "Give me a list of 5 words where the letters are in alphabetical order.",
            "item",
            list_words(5, "label"),
        ),
        ("Generate a list of 10 descriptive words for a rainy day.", "item", list_words(10, "label")),
        # a count closing the request, a list asked by need or by a question, a prompt that is the list
        ("What are some good names for a podcast about money? Give me ten.", "item", list_words(10, "label")),
        (
            "Band name ideas? We're a garage band. Like 15 options, the weirder the better.",
            "item",
            list_words(15, "label"),
        ),
        (
            "Explain the main benefits of fasting — four of them, with the science.",
            "item",
            list_words(4, "point"),
        ),
        (
            "What are some icebreaker questions for a team meeting? Maybe 7.",
            "item",
            list_words(7, "question"),
        ),
        ("I need 6 songs for a road trip playlist, upbeat 80s stuff", "item", list_words(6, "thing")),
        ("Recommend me five underrated sci-fi novels.", "item", list_words(5, "thing")),
        (
            "I'm visiting Japan for two weeks. Which 7 cities should I prioritize?",
            "item",
            list_words(7, "thing"),
        ),
        ("5 tips for better sleep", "item", list_words(5, "point")),
        ("7 easy weeknight dinners?", "item", list_words(7, "thing")),
        ("my cat needs a name!! she's orange. list 7 please", "item", list_words(7, "label")),
        # the tenth blind set's lessons (other words here): hedges, "-ish", "give or take", a bound alone
        ("Describe a black hole in 40ish words.", "word", 40.0),
        ("could you explain ETFs in like 3-4 sentences", "sentence", 3.5 * WORDS_PER_UNIT["sentence"]),
        ("Write something like 300 words about tides.", "word", 300.0),
        (
            "Write a eulogy for my uncle, 4 paragraphs give or take.",
            "paragraph",
            4 * WORDS_PER_UNIT["paragraph"],
        ),
        ("At least 800 words please. I need a guide to composting.", "word", 800 * 1.15),
        ("Make a numbered list of 6 lessons from this story:", "item", list_words(6, "point")),
        ("I need 40 vocab words for my French class.", "item", list_words(40, "label")),
        ("Make up 12 word problems about fractions.", "item", list_words(12, "question")),
        ("Which fits: 'She ___ to the store.' Just the word please.", "short_answer", 1.0),
        ("Which are the 3 largest countries by area?", "item", list_words(3, "thing")),
        ("Can you list the top 20 films of the 1930s?", "item", list_words(20, "thing")),
        ('Generate five "fill in the blank" questions about D-Day.', "item", list_words(5, "question")),
        ("Write 5 haikus about rain.", "form", 5 * WORDS_PER_FORM["haiku"]),
        ("Give me 10 tweets for launch day.", "form", 10 * WORDS_PER_FORM["tweet"]),
        ("yes or no: is the earth round?", "yes_no", 1.0),
        ("Yes/no - is 7 prime?", "yes_no", 1.0),
        ("Is water wet, yes or no?", "yes_no", 1.0),
    ],
)
def test_absolute_requests(prompt: str, unit: str, words: float) -> None:
    request = parse_length_request(prompt)
    assert request.kind == "absolute"
    assert request.unit == unit
    assert request.requested_words == pytest.approx(words)


def test_tokens_follow_the_tokenizer() -> None:
    request = parse_length_request("Write a 300-word story.")
    assert request.requested_tokens("llama2") == pytest.approx(300 * TOKENS_PER_WORD["llama2"])
    assert request.requested_tokens("llama3") < request.requested_tokens("llama2")
    assert parse_length_request("In one word: best fruit?").requested_tokens("qwen") == 2.0


@pytest.mark.parametrize(
    ("prompt", "tokens"),
    [
        ("Explain DNS. Respond in under 100 tokens.", 80.0),
        ("Write a 500-token summary of the French Revolution.", 500.0),
        ("Answer in about 200 tokens: what is entropy?", 200.0),
        ("Keep your answer within 150 tokens: why is the sky blue?", 150.0),
        ("Explica DNS en menos de 100 tokens.", 80.0),
        ("Erkläre DNS in höchstens 100 Tokens.", 80.0),
    ],
)
def test_a_length_in_tokens_is_kept_in_tokens(prompt: str, tokens: float) -> None:
    request = parse_length_request(prompt)
    assert request.unit == "token" and request.kind == "absolute"
    assert request.requested_tokens("llama2") == pytest.approx(tokens)
    assert request.requested_tokens("qwen") == pytest.approx(tokens)
    assert request.describe() == f"{tokens:,.0f} tokens"


@pytest.mark.parametrize(
    "prompt",
    [
        "My prompt is 2000 tokens long. Why is the API slow?",
        "The model has a context window of 8k tokens. Explain what that means.",
        "I have 50 tokens in the game, what can I buy with them?",
        "How many tokens is 1000 words?",
        "Set max_tokens to 256 and tell me why the answer is cut.",
    ],
)
def test_tokens_that_are_not_the_answers_length(prompt: str) -> None:
    assert parse_length_request(prompt).unit != "token"


@pytest.mark.parametrize(
    ("prompt", "count"),
    [
        ("Explain recursion in a paragraph or two.", 1.5),
        ("Answer in a sentence or two: what is DNS?", 1.5),
        ("Explain recursion in a paragraph.", 1.0),
        ("Write a paragraph or so about cats.", 1.0),
    ],
)
def test_a_unit_or_two_is_one_and_a_half(prompt: str, count: float) -> None:
    assert parse_length_request(prompt).count == count


def test_a_blind_set_of_conversations_is_read() -> None:
    """60 chat conversations by a helper who never saw the grammar: a length from the last user turn, a
    standing one from the system prompt, the last turn overriding it, relative requests, and earlier
    turns' lengths that no longer apply. Held out: 26 of 30 read, 2 wrong, none false, 1 relative
    request missed (docs/predictor.md)."""
    from sagepred.records import prompt_text

    path = Path(__file__).resolve().parents[1] / "data" / "length_instructions_chat_blind.jsonl"
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    score = score_parser([{**r, "prompt": prompt_text(r["messages"])} for r in rows])
    assert len(rows) == 60 and score.lengths == 30
    assert score.read >= 29 and not score.wrong and not score.false_positives, score
    assert len(score.relative_misses) <= 1, score.relative_misses


@pytest.mark.parametrize(
    ("name", "size", "least_read"),
    [("length_tokens_blind.jsonl", 70, 34), ("length_tokens_blind_2.jsonl", 50, 24)],
)
def test_a_blind_set_of_lengths_in_tokens_is_read(name: str, size: int, least_read: int) -> None:
    """Prompts by helpers who never saw the grammar: half ask for a length in tokens (six of the first
    set in other languages), half name tokens otherwise (crypto, games, tokenization, max_tokens,
    pricing, auth, the user's own text). Held out: 31 of 35 read, none wrong, 1 false reading; the
    second set, after the first's lessons, 18 of 25, none wrong, 1 false (docs/predictor.md)."""
    path = Path(__file__).resolve().parents[1] / "data" / name
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    asked = [r for r in rows if r["tokens"] is not None]
    readings = [parse_length_request(r["prompt"]) for r in asked]
    within = [
        q.unit == "token" and abs(math.log(q.requested_tokens("llama3") / r["tokens"])) <= math.log(1.3)
        for q, r in zip(readings, asked, strict=True)
    ]
    false = [
        r["prompt"] for r in rows if r["tokens"] is None and parse_length_request(r["prompt"]).unit == "token"
    ]
    assert len(rows) == size and len(asked) == size // 2
    assert sum(within) >= least_read, [r["prompt"] for r, ok in zip(asked, within, strict=True) if not ok]
    assert not false, false


@pytest.mark.parametrize(
    ("prompt", "unit", "direction"),
    [("Give a brief summary of Dune.", "brief", -1), ("Write a detailed plan for a garden.", "detailed", 1),
     ("Write the full program for a todo app in Python.", "full_code", 1),
     ("Explain briefly what DNS does.", "brief", -1), ("Keep it short: what is a CPU?", "brief", -1),
     ("Summarize the article in a brief manner.", "brief", -1),
     ("Explain in detail how a transistor works.", "detailed", 1),
     # the tenth blind set's lessons (other words here)
     ("Get into as much detail as you can about tax brackets.", "detailed", 1),
     ("Take me through, slowly and in great detail, how a bill becomes law.", "detailed", 1),
     ("Write a long, spooky campfire story about a lighthouse.", "detailed", 1),
     ("Describe the Krebs cycle extensively.", "detailed", 1),
     ("Describe the setting of the story in great detail.", "detailed", 1),
     ("Write a long essay about the sea.", "detailed", 1),
     ("Write me a quick summary of the meeting.", "brief", -1),
     ("What is 17 * 3? No explanation needed.", "brief", -1),
     ("Fix the grammar without any explanation.", "brief", -1),
     ("Give a short answer: who wrote Hamlet?", "brief", -1),
     ("Write a short paragraph about owls.", "brief", -1),
     ("Write a lengthy discussion of free will.", "detailed", 1),
     ("Explain tides in as much detail as possible.", "detailed", 1),
     ("Write the longest essay you can about tides.", "detailed", 1),
     ("Give me a quick rundown of how mortgages work.", "brief", -1),
     ("Can you give me a short, simple explanation of tides for my kid?", "brief", -1),
     ("please explain me shortly what is a noun", "brief", -1),
     ("Go deep on this: how do tides work?", "detailed", 1),
     ('My tagline is "Fresh every day." Expand it into a longer, fuller pitch.', "detailed", 1),
     ("that was way too long. make it much shorter please", "brief", -1),
     ("Good start, but I need it a lot longer.", "detailed", 1),
     ("Go deeper into how suspension bridges carry their load.", "detailed", 1),
     ("Give me a short pep talk for my swim team before the relay.", "brief", -1)],
)  # fmt: skip
def test_relative_requests(prompt: str, unit: str, direction: int) -> None:
    request = parse_length_request(prompt)
    assert request.kind == "relative" and request.unit == unit
    assert (request.multiplier - 1.0) * direction > 0


@pytest.mark.parametrize("prompt", ["What is 2+2?", "Tell me about the moon landing.", "Who won in 1998?"])
def test_no_request(prompt: str) -> None:
    assert parse_length_request(prompt) == NO_REQUEST


@pytest.mark.parametrize(
    "prompt",
    [
        # counts that describe the task, not the answer (forms found in CASTILLO and AlpacaEval prompts,
        # where the old parser's reading cost up to 100x the CRPS of the head alone)
        "Estimate the cost of printing 500 copies of a 300-page novel.",
        "List the steps to write a 10-page report.",
        "In SQL, how do I update a table with about 5 million rows quickly?",
        "Name one way to save water at home.",
        "Explain what overfitting is, and provide one example.",
        # "short" / "brief" naming a genre or each item's length, not the answer's
        "Write a short story about a lighthouse keeper.",
        "Write a short essay on the benefits of walking.",
        "Compile a list of famous bridges with a brief description of each one.",
        "Who wears short shorts?",
        # short answers, forms and "in detail" that are not the answer's length
        "For each question below, answer with a single letter.",
        "The words can contain only the letter a. How many words are there?",
        "Respond with a word count of the text.",
        "Give the name of the capital of Peru and explain its history.",
        "Write the answer to the question.",
        "What is a haiku?",
        "Classify the given tweet as positive or negative.",
        "You can see the input described in detail below.",
        "Phew, that's a long list! What is its third item?",
        # "a sentence", "between two …" and counts in programming tasks that are the task's data
        "What is the relationship between the noun and verb in a sentence?",
        "Calculate the distance between two points.",
        "Write a sentence-by-sentence analysis of the poem.",
        'What does "in a nutshell" mean?',
        "Summarize each paragraph in one sentence.",
        # words the answer lists, not its length (they had pulled the fitted instruction weight to 0.3)
        "Our generator can create 1000+ name ideas. Which one do you like?",
        "Is this statement true or false? The moon is made of cheese.",
        "Develop a dialogue between two characters given the situation.",
        "Summarize a page of text for me.",
        "Given a sentence, find its subject.",
        "Create a program to calculate the frequency of a word in a sentence.",
        "Write a python regular expression that matches between 1 and 3 characters.",
        # a count after a comma, minutes and quotes that are the task's data (the first from CASTILLO)
        "The book has 300 pages, 90,000 words.",
        "Explain how to make pasta in 10 minutes.",
        "The speech was 20 minutes long. Summarize it.",
        'Generate an alternative way to say "I understand".',
        "Classify the following statement as true or false.",
        "200 word essays are hard to grade.",
        # a count inside quoted text is the text's, not the answer's
        "My teacher wrote 'Write 3-4 pages on a novel.' What novel should I pick?",
        'The slogan "Read 20 pages a day" is everywhere. Who came up with it?',
        # a rule someone else set, or the length of a text that exists
        "My editor says the column has to be 800 words. How do I write a strong opening line?",
        "Why is the convention that tweets should be 280 characters?",
        "Our guidelines say captions should be under 15 words. Is this caption fine? 'Sunset over the bay'",
        "The report I attached is roughly 40 pages.",
        "I wrote an essay that is 1,850 words. Which part should I cut?",
        "Generate a JSON schema for a product with a name (max 80 characters) and a price.",
        "Why do editors say a first novel should be between 70,000 and 90,000 words?",
        "I have a 1-page CV. Should I expand it to 2 pages?",
        "Make notes into tasks: - Ana to write 2-page memo - Bo to fix the login bug",
        "Why do teachers tell students to keep paragraphs under 150 words?",
        "What do you call a poem with 14 lines?",
        "Here is my 800-word essay draft. What title would fit?",
        "How long should a toast be? Mine's currently at about 700 words.",
        "Here's the intro of my cover letter (about 90 words): 'I have always loved maps.' Is it good?",
        "In short, I'm lost: why does my bread sink after 10 hours?",
        "Is opening an email with 'I'll keep this brief' rude?",
        "Reminder: the intro section must be no more than 2 pages. Who reviews the drafts?",
        "Given an array of n integers, find the longest run with at most k distinct values in O(n) time.",
        "why do tweets over 280 characters get cut off on my phone?",
        "Action items: 1. Ana - update vendor list 2. Bo - fix the 3 broken links. Who owns the links?",
        "In charades I'm only allowed to answer yes or no. How do I hint at a film title?",
        "Editors say: query letters around 250-300 words. Is mine too long?",
        "What's the difference between a novella (under 40,000 words) and a novel?",
        "The guide is 30 pages at roughly 300 words per page. How long to translate it?",
        "A villanelle is 5 tercets of 3 lines and a quatrain. Why is it so hard?",
        "Our survey had a yes or no question about parking. How do I chart the answers?",
        "Why does textwrap.wrap(text, 70) return 9 lines for 600 characters?",
        "Why do most thrillers run about 90,000 words?",
        "Fix this bug:\n\nfor i in range(10):\n    print(rows[i])\n\nIt fails when there are fewer than 10 lines.",
        "Sum up these notes:\n- 12 people came\n- the spec (30 pages) needs review",
        "What are 2 and 3 added together?",
        "I need 3 cups of flour for this recipe, what can I substitute?",
        "Person 1: I have a meeting then, what about 5 pm?\nPerson 2: That works.",
        "Given some data, find the outlier.\nInput: Speed: 38, 55, 36, 42",
        "Factor t^2-49.",
        "Which chapter is weakest?\n1. Opening (400 words)\n2. Middle (900 words)\n3. End (300 words)",
        "Plan my day:\n- reply to 9 emails\n- review the design doc (about 12 pages)\n- call mum",
        "The enzyme has been studied extensively. What does it do?",
        "Yes or no questions are easy to grade. Why do surveys use them?",
    ],
)
def test_counts_and_adjectives_that_are_not_length_requests(prompt: str) -> None:
    assert parse_length_request(prompt) == NO_REQUEST


@pytest.mark.parametrize("path", PROBE_FILES, ids=lambda p: p.stem)
def test_every_probe_parses_to_its_instructed_length(path: Path) -> None:
    for probe in read_probes(path):
        request = parse_length_request(probe.prompt)
        assert request.kind == "absolute", probe.id
        assert request.requested_words == pytest.approx(probe.instructed_words, rel=0.01), probe.id


def test_short_answers_are_a_word_or_so_in_every_tokenizer() -> None:
    request = parse_length_request("Respond with just a number: how many legs has a spider?")
    assert {request.requested_tokens(t) for t in TOKENS_PER_WORD} == {SHORT_ANSWER_TOKENS}


def _chat(*turns: tuple[str, str]) -> str:
    from sagepred.records import prompt_text

    return prompt_text([{"role": role, "content": content} for role, content in turns])


def test_a_conversation_reads_the_last_user_turn_then_the_system_prompt() -> None:
    """The answer to come follows the last user turn; an earlier turn's request asked for an earlier
    answer, and a system prompt's stands when the last turn asks for nothing."""
    essay_then_sentence = _chat(
        ("user", "Write a 2000-word essay on Rome."),
        ("assistant", "Rome was founded ... in three sentences of its own."),
        ("user", "Now summarise it in one sentence."),
    )
    assert parse_length_request(essay_then_sentence).unit == "sentence"
    assert parse_length_request(essay_then_sentence).requested_words == WORDS_PER_UNIT["sentence"]
    follow_up = _chat(
        ("user", "Write a 2000-word essay on Rome."), ("assistant", "..."), ("user", "More formal.")
    )
    assert parse_length_request(follow_up) == NO_REQUEST
    standing = _chat(("system", "Always answer in one word."), ("user", "Capital of Peru?"))
    assert parse_length_request(standing).unit == "one_word"
    overridden = _chat(("system", "Be concise."), ("user", "Write a 500-word story about a fox."))
    assert parse_length_request(overridden).requested_words == 500.0
    assert parse_length_request("user: Write a haiku.") == parse_length_request("Write a haiku.")
    assert chat_turns("Our user: a field of the form.\nassistant: no") is None
    assert chat_turns("user: hi\nassistant: hello\nthere\nuser: bye") == [
        ("user", "hi"),
        ("assistant", "hello\nthere"),
        ("user", "bye"),
    ]


def test_a_number_phrase_is_at_most_eight_words() -> None:
    """The bound keeps the grammar linear in the prompt: an unbounded run of number words let every
    start position try every length (a 2,000-word list of them took minutes, quadratic)."""
    import re

    from sagepred.length_instructions import NUMBER

    phrase = re.compile(NUMBER, re.IGNORECASE)
    assert phrase.fullmatch("two hundred and fifty three thousand four hundred and twelve") is not None
    long_run = " ".join(["one"] * 20)
    assert len(phrase.match(long_run).group(0).split()) == 8
    assert (
        parse_length_request("one two three " * 200 + ". Explain it in three sentences.").requested_words
        == 54.0
    )


def test_a_long_document_is_read_at_both_ends() -> None:
    """An instruction before or after a long document is found; the middle of a text longer than twice
    READ_CHARS is not read (it bounds the time a request costs)."""
    from sagepred.length_instructions import READ_CHARS

    document = "The committee met again on Tuesday. " * (READ_CHARS // 10)
    assert parse_length_request("Summarise in three sentences:\n" + document).requested_words == 54.0
    assert parse_length_request(document + "\nSummarise the above in two paragraphs.").unit == "paragraph"
    middle = document[: len(document) // 2] + " Answer in one word. " + document[len(document) // 2 :]
    assert parse_length_request(middle) == NO_REQUEST
    assert parse_length_request("Answer in one word. " + document[:1000]).unit == "one_word"


@pytest.mark.parametrize(
    (
        "name",
        "size",
        "lengths",
        "least_read",
        "most_false_positives",
    ),  # and no wrong reading but one in the ninth
    [
        ("length_instructions_blind.jsonl", 120, 70, 66, 1),
        ("length_instructions_blind_2.jsonl", 100, 57, 52, 1),
        ("length_instructions_blind_3.jsonl", 100, 58, 54, 1),
        ("length_instructions_blind_4.jsonl", 100, 58, 54, 1),
        ("length_instructions_blind_5.jsonl", 100, 57, 53, 1),
        ("length_instructions_blind_6.jsonl", 100, 57, 54, 1),
        ("length_instructions_blind_7.jsonl", 100, 25, 23, 3),  # 75 hard negatives
        ("length_instructions_blind_8.jsonl", 100, 58, 55, 1),
        ("length_instructions_blind_9.jsonl", 100, 25, 22, 5),  # 75 more hard negatives
        ("length_instructions_blind_10.jsonl", 120, 65, 64, 0),  # lists, hedges, requirement lists
        ("length_instructions_blind_11.jsonl", 100, 55, 52, 3),  # pasted context, speech, non-native English
        ("length_templates_blind.jsonl", 90, 45, 44, 1),  # templates: spec sheets, sections, XML, JSON
    ],
)
def test_probe_sets_written_without_the_parser_are_read(
    name, size, lengths, least_read, most_false_positives
):
    """Prompts written by helpers that never saw the parser (with a length, relative, or with numbers and
    unit words that set no length), with the length each asks for in words. First scored before the
    parser saw them: 58 of 70, 42 of 57, 51 of 58, 46 of 58, 51 of 57 and 54 of 57 read; 3, 3, 1, 2, 2
    and 2 false positives; the seventh, 75 hard negatives, 10; the eighth 54 of 58 and none; the ninth,
    75 more hard negatives, 22; the tenth 58 of 65, one wrong, two false positives and four relative
    requests missed; the eleventh 44 of 55, none wrong, five false positives and two relative requests
    missed; the templates 23 of 45, five wrong, three false positives of 45 and three of eight relative
    requests missed (docs/predictor.md)."""
    path = Path(__file__).resolve().parents[1] / "data" / name
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    score = score_parser(rows)
    assert len(rows) == size and score.lengths == lengths
    assert len(score.wrong) <= (1 if name.endswith("_9.jsonl") else 0), (
        score.wrong
    )  # ninth: a pasted PRD's "- Draft titles max 80"
    assert len(score.relative_misses) <= 2, score.relative_misses
    assert score.read >= least_read, score.read
    assert len(score.false_positives) <= most_false_positives, score.false_positives


def test_closed_answers_written_without_the_parser_are_read() -> None:
    """Closed answers (a label, a letter, a score, true or false, an emoji, one field) and look-alikes that
    ask for their reasons or mention them as content, by a helper that never saw the parser. Held out: 33
    of 45 read, one wrong, 8 false positives of 45 (docs/predictor.md)."""
    path = Path(__file__).resolve().parents[1] / "data" / "length_closed_blind.jsonl"
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    score = score_parser(rows, few_words=True)
    assert len(rows) == 90 and score.lengths == 45
    assert score.read >= 43, score.wrong
    assert len(score.wrong) <= 1, score.wrong  # an MT-bench judge prompt, sized by the answers it pastes
    assert len(score.false_positives) <= 1, (
        score.false_positives
    )  # "10 one-word names … with a reason for each"
    assert not score.relative_misses, score.relative_misses


@pytest.mark.parametrize(
    ("prompt", "unit"),
    [
        (
            "Which response is better?\n\nResponse 1: Boil it.\nResponse 2: Fry it.\n\nReply with '1' or '2' and nothing else.",
            "short_answer",
        ),
        (
            "Compare the two summaries. Output your verdict as 'Verdict: A' or 'Verdict: B' with nothing else.",
            "short_answer",
        ),
        (
            "Answer 1 if the response below contains an address and 0 otherwise. Output nothing but the digit.",
            "short_answer",
        ),
        ("Which country is Ulaanbaatar the capital of? Country name only.", "short_answer"),
        ("Kindly reply with the category name only, nothing else.", "short_answer"),
        (
            "Possible intents: book, cancel, baggage. Reply with exactly one intent string and nothing else.",
            "short_answer",
        ),
        (
            "Return only the email address from the text below.\n\nHi, write to m.lopez@example.com. Thanks",
            "short_answer",
        ),
        (
            "Reference answer: 212F\nCandidate answer: 100\n\nIs the candidate correct? Respond with CORRECT or INCORRECT.",
            "short_answer",
        ),
        ("can u tell me if this sounds mad. reply w one word only: 'ok fine whatever'", "one_word"),
        ("In a one-line answer, what's the difference between TCP and UDP?", "one_line"),
        ("Who wrote 'One Hundred Years of Solitude'? Name only, no explanation.", "short_answer"),
    ],
)
def test_closed_answers_are_read(prompt: str, unit: str) -> None:
    assert parse_length_request(prompt).unit == unit, parse_length_request(prompt)


@pytest.mark.parametrize(
    "prompt",
    [
        'My landlord wrote: "Please confirm you will renew the lease. Answer yes or no." What should I consider?',
        'Here\'s my system prompt: "You are a classifier. Respond with only the label." How do I stop the extra text?',
        "lol why do ppl put 'output just the number' in their prompts, does it help??",
        "My teacher says answer with one word but I don't understand photosynthesis, can you explain it?",
        "If you had to sum up the Renaissance in a single word, what would it be? Elaborate on your choice.",
        "Is coffee bad for you? Answer yes or no and explain why.",
        "Compose a question which requires a yes or no answer.",
        "What approach would you take to label tickets with about 2,000 labelled examples?",
        "Why do emoji mean different things in different cultures? Give a few examples.",
        "Task: Explain the one-word motto of the company to new employees: what it means and how to live it.",
    ],
)
def test_closed_answer_look_alikes_are_not_read(prompt: str) -> None:
    assert parse_length_request(prompt).kind != "absolute", parse_length_request(prompt)


def test_a_closed_answer_without_its_reasons_is_still_read() -> None:
    assert parse_length_request("Is Paris in France? Answer yes or no, no explanation.").unit == "yes_no"
    assert parse_length_request("Classify it as spam or ham. Do not explain.").unit == "short_answer"


@pytest.mark.parametrize(
    ("prompt", "words", "unit"),
    [
        (
            "ROLE: Tutor.\nGUIDELINES:\n- Use an analogy.\n- Response length: 2 paragraphs\n- End with a question.",
            94.0,
            "paragraph",
        ),
        (
            "DOCUMENTS: [1] Warm water stresses coral.\nQUESTION: Why is the reef bleaching?\nANSWER GUIDELINES: Use only the documents. Length: approximately 120 words.",
            120.0,
            "word",
        ),
        (
            "# Instructions\nWrite the newsletter section.\n## Format\nExactly 3 paragraphs, each around 80 words.\n## Tone\nWarm.",
            240.0,
            "items_of",
        ),
        (
            "## Constraints\n- 120–150 words\n- One discount code\n## Task\nWrite the body of a spring sale email.",
            135.0,
            "word",
        ),
        (
            "TASK: Draft the Statement of Need.\nOUTPUT REQUIREMENTS: a single page, plain prose, no headings.",
            500.0,
            "page",
        ),
        (
            "Role: Policy analyst.\nTask: Write a memo on the four-day week.\nLength: 2 pages\nFormat: memo header, then prose",
            1000.0,
            "page",
        ),
        (
            "task: Write a welcome message for new users.\ntone: upbeat\nlength: 250 words\nformat: prose with the steps inline",
            250.0,
            "word",
        ),
        (
            "Questions to answer:\n1. Hours?\n2. Prices?\nEach of the 5 answers should be ~30 words. Output only the answers.",
            150.0,
            "items_of",
        ),
        (
            "Campaign: Back to school\nReturn 10 bullet points, each no longer than 12 words, with tagline ideas.",
            96.0,
            "items_of",
        ),
        (
            "OUTPUT FORMAT:\n- 4 bullets of review feedback\n- No more than 50 words per bullet",
            160.0,
            "items_of",
        ),
        (
            '{"product": "tent", "max_words": 120, "style": "formal"}\nReturn only the description text.',
            96.0,
            "word",
        ),
        (
            '{\n  "num_bullets": 3,\n  "words_per_bullet": 10\n}\nGenerate release notes following the config.',
            30.0,
            "items_of",
        ),
        ("<prompt>\n<study>Stress fell 18%.</study>\n<word_limit>200</word_limit>\n</prompt>", 160.0, "word"),
        ("Concept: Newton's third law\nnumber_of_sentences: 6\nstyle: conversational", 108.0, "sentence"),
        (
            "You are a terse assistant. Limit: 60 tokens per response. Never use bullet points.",
            60 * 0.8 / 1.294 * 1.294,
            "token",
        ),
    ],
)
def test_lengths_in_templates_are_read(prompt: str, words: float, unit: str) -> None:
    request = parse_length_request(prompt)
    assert request.unit == unit and request.requested_words is not None, request
    if unit == "token":
        assert request.requested_tokens("cl100k") == pytest.approx(48.0)
    else:
        assert request.requested_words == pytest.approx(words, rel=0.01), request


@pytest.mark.parametrize(
    "prompt",
    [
        "SYSTEM CONFIG\nInput limit: the user text is at most 2000 characters.\nTask: Give feedback on the user's paragraph.",
        'Here\'s my schema:\n\n{"title": "string", "word_count": 1200, "pages": 4}\n\nWhat fields am I missing?',
        '{\n  "max_tokens": 256,\n  "summary_sentences": 3\n}\n\nwhich one wins if they conflict?',
        "Create a text output using the given format.\nInput: Name: John\nCity: London\nFormat: Hi [name], this is [city] calling!",
        '{"input_max_chars": 4000, "tone": "warm"}\nWrite a thank-you note to the volunteers.',
    ],
)
def test_template_numbers_that_are_not_the_answers_length(prompt: str) -> None:
    assert parse_length_request(prompt).kind != "absolute", parse_length_request(prompt)


@pytest.mark.parametrize(
    ("prompt", "unit"),
    [
        ("Role: IT helpdesk bot\nLength: short\nUser: How do I connect to the VPN?", "brief"),
        ("[Slack bot: /ask]\nMode: quick answer\nQuestion: What is git rebase?", "brief"),
        ("<task>Explain photosynthesis.</task>\n<verbosity>high</verbosity>", "detailed"),
    ],
)
def test_a_size_word_in_a_template_is_a_relative_request(prompt: str, unit: str) -> None:
    assert parse_length_request(prompt).unit == unit, parse_length_request(prompt)


def test_the_second_round_of_templates_and_closed_answers_is_read() -> None:
    """Second-round sets by helpers who never saw the parser, written after the first round's lessons.
    Held out: templates 25 of 36 read, 4 wrong, 1 false reading of 34, 4 of 9 relative requests missed;
    closed answers 17 of 40, 5 false of 30, 2 relative requests read as closed ones (docs/predictor.md).
    "~10 slides / about 30 words of text per slide" (read as 30 words) and an answer in parts ("TL;DR ≤
    25 words", "Analysis 200 words"), read as its first, are read whole since the parts reader."""
    rows = [
        json.loads(line) for line in (DATA / "length_templates_blind_2.jsonl").read_text("utf-8").splitlines()
    ]
    score = score_parser(rows)
    assert len(rows) == 70 and score.lengths == 36
    assert score.read >= 35 and not score.wrong, score.wrong
    assert len(score.false_positives) <= 1 and not score.relative_misses, (
        score.false_positives,
        score.relative_misses,
    )
    rows = [
        json.loads(line) for line in (DATA / "length_closed_blind_2.jsonl").read_text("utf-8").splitlines()
    ]
    score = score_parser(rows, few_words=True)
    assert len(rows) == 70 and score.lengths == 40
    assert score.read >= 37 and not score.wrong, score.wrong
    assert len(score.false_positives) <= 1, (
        score.false_positives
    )  # "Answer yes or no, then give three reasons"
    assert not score.relative_misses, score.relative_misses


@pytest.mark.parametrize(
    ("prompt", "unit"),
    [
        (
            "Classify the following email. Output the label only: SPAM or HAM.\n\n" + "Dear Winner, " * 60,
            "short_answer",
        ),
        (
            "Rate relevance from 0 to 3. Output a single integer and nothing else.\n\nDocument: "
            + "text " * 120,
            "short_answer",
        ),
        (
            "Does the premise entail the hypothesis? Answer with one of: entailment, neutral, contradiction.",
            "short_answer",
        ),
        (
            "Route it to one queue: BILLING, SALES, OTHER.\nOutput format: <label>\n\nMessage: hey, two charges??",
            "short_answer",
        ),
        (
            "You're a pub-quiz bot. Reply A, B, C or D — no explanation.\n\nQ: Which planet has the most moons?",
            "short_answer",
        ),
        (
            'Pull out the due date and return it in YYYY-MM-DD format, nothing else.\n\n"Invoice 2291, due April 2."',
            "short_answer",
        ),
        (
            "Respond with only 'yes' if the comment below is toxic and 'no' if it is not.\n\nComment: \"go away\"",
            "yes_no",
        ),
        ("Is 91 a prime number? Return 'true' or 'false' in lowercase, with no other text.", "yes_no"),
        ('React to this message with a single emoji, nothing else: "I GOT THE JOB!!!"', "short_answer"),
        ("yo which one is bigger 0.8 or 0.75 , jus give me the number no explanaton", "short_answer"),
        (
            'pls answr w/ only the first name of the person who sent this, nothing else:\n\n"cheers, Priyanka"',
            "short_answer",
        ),
        (
            "Passage 1: Bonn.\nPassage 2: Berlin.\n\nRespond with the number of the best passage.",
            "short_answer",
        ),
    ],
)
def test_closed_answers_of_the_second_round(prompt: str, unit: str) -> None:
    assert parse_length_request(prompt).unit == unit, parse_length_request(prompt)


@pytest.mark.parametrize(
    "prompt",
    [
        "I'm building a quiz bot that expects users to reply A, B, C or D. How should I handle lowercase letters?",
        "Write a regex that matches only 'yes' or 'no' (case-insensitive) and explain how each piece works.",
        "Why do sentiment analysis models usually output just one label like 'positive'? What are the drawbacks?",
        "Write a system prompt for an LLM that classifies user comments as toxic or not and must answer with only 'yes' or 'no'.",
        "Write a function to return true if the given number is even else return false.",
    ],
)
def test_closed_answers_others_give_are_not_read(prompt: str) -> None:
    request = parse_length_request(prompt)
    assert request.unit not in ("yes_no", "short_answer", "one_word"), request


def test_a_list_sized_each_in_the_next_sentence() -> None:
    request = parse_length_request(
        "Generate 6 FAQ entries for a meal-kit service. Each answer should be about 40 words."
    )
    assert request.unit == "items_of" and request.requested_words == 240.0, request
    assert (
        parse_length_request(
            "can u write me a 500 word short story about a lighthouse keeper"
        ).requested_words
        == 500.0
    )


def test_two_word_answers_and_relative_template_fields() -> None:
    assert (
        parse_length_request("Two-word answer: what's the warm Atlantic current near Europe?").requested_words
        == 2.0
    )
    assert (
        parse_length_request(
            '{"assistant_profile": {"brevity": "high"}, "user_query": "Can I deduct rent?"}'
        ).unit
        == "brief"
    )
    assert (
        parse_length_request("TEMPLATE: deep_dive_v3\ntopic: SVB\ndetail_level: maximum").unit == "detailed"
    )
    assert (
        parse_length_request("Role: SQL reviewer\nBe terse. Flag problems only.\nQuery: SELECT 1;").unit
        == "brief"
    )


def test_an_hour_of_mixed_traffic_written_without_the_parser_is_read() -> None:
    """100 English prompts sampling an hour of API traffic (chat, support bots, RAG, extraction,
    classifiers, templates, code), written after every lesson above by a helper who never saw the parser.
    Held out: 44 of 50 lengths read, 2 wrong, 4 false readings of 50 (two are a translation and a rewrite
    of a pasted text, sized by that text as designed), all 15 relative requests read. After two lessons
    ("can u write me a 500 word short story", "Generate 6 FAQ entries … Each answer should be about 40
    words.") 46 of 50 (docs/predictor.md)."""
    rows = [
        json.loads(line)
        for line in (DATA / "length_mixed_traffic_blind.jsonl").read_text("utf-8").splitlines()
    ]
    score = score_parser(rows, few_words=True)
    assert len(rows) == 100 and score.lengths == 50
    assert score.read >= 46 and len(score.wrong) <= 1, (
        score.wrong
    )  # "5 keywords of 1–2 words" read as 1.5 words
    assert len(score.false_positives) <= 4 and not score.relative_misses, (
        score.false_positives,
        score.relative_misses,
    )


@pytest.mark.parametrize(
    ("prompt", "words"),
    [
        (
            "Structure your answer as: 1) TL;DR in at most 25 words 2) Analysis of about 200 words "
            "3) Recommendation in 50 words.\n\nQuestion: should we move to a four-day week?",
            20 + 200 + 50,
        ),
        (
            "Write the postmortem for the outage. Use exactly this layout:\n\n## Summary (~100 words)\n"
            "## Risks (3 bullets)\n## Next steps (2 sentences)",
            100 + 3 * WORDS_PER_PART_ITEM + 36,
        ),
        (
            "Summarize the reviews below into:\nPros: 4 bullets, max 12 words each\nCons: 3 bullets, max 12 words "
            'each\nVerdict: about 40 words\n\nReviews:\n"Battery easily lasts two days."',
            4 * 9.6 + 3 * 9.6 + 40,
        ),
        (
            "Cover letter for a UX researcher role. Requirements:\n1. Opening paragraph of ~60 words\n"
            "2. Two body paragraphs of 80-100 words each\n3. Closing under 50 words",
            60 + 2 * 90 + 40,
        ),
        (
            "explain photosynthesis to me in like 3 parts: what it even is (one paragraph), the light "
            "reactions (one paragraph), and the calvin cycle (one paragraph)",
            3 * 47,
        ),
        (
            "Need 5 Google responsive search ad variations for our bookkeeping service. Each one: headline "
            "under 30 characters, description under 90 characters.",
            5 * 0.8 * (30 + 90) / 6.2,
        ),
        (
            "Write a structured abstract for my study. Background (2 sentences), Methods (3 sentences), "
            "Results (about 60 words), Conclusion (1 sentence).",
            36 + 54 + 60 + 18,
        ),
        (
            "Write an SOP for front-desk patient check-in.\nPurpose — 1 sentence\nScope — 1 sentence\n"
            "Procedure — 8 numbered steps, each under 20 words",
            18 + 18 + 8 * 16,
        ),
        (
            "can u make me a study guide for my bio final. topics are: mitosis, meiosis, DNA replication, "
            "transcription, translation. for each one a short definition (1 sentence) and 2 practice questions",
            5 * (18 + 2 * WORDS_PER_PART_ITEM),
        ),
        (
            "Write a persuasive essay on car-free weekends. Intro paragraph, three body paragraphs of at least "
            "80 words each, and a conclusion of 3 sentences.",
            47 + 3 * 1.15 * 80 + 54,
        ),
        (
            "Write a README for `tidyclip`, a small Rust CLI that cleans clipboard text. Use exactly this "
            "structure:\n\n## Overview (~80 words)\n## Installation (3-5 bullet points)\n## Usage (about 120 "
            "words, including one code example)\n## License (1 sentence, MIT)",
            80 + 4 * WORDS_PER_PART_ITEM + 120 + 18,
        ),
        (
            "Write a job posting for a part-time bookkeeper. Include a title, a 3-sentence company blurb, "
            "6 bullet responsibilities and 4 bullet requirements.",
            10 + 54 + 6 * WORDS_PER_PART_ITEM + 4 * WORDS_PER_PART_ITEM,
        ),
    ],
)
def test_an_answer_asked_for_in_sized_parts_is_their_sum(prompt: str, words: float) -> None:
    request = parse_length_request(prompt)
    assert request.unit == "parts" and request.requested_words == pytest.approx(words, rel=0.01), request


@pytest.mark.parametrize(
    ("prompt", "words"),
    [
        ("hey can you outline a pitch deck for my app? ~10 slides, about 30 words of text per slide", 300),
        ("Write 4 product descriptions, 60 words per product, for our hand-poured soy candles.", 240),
        ("Make a 12-slide deck on the water cycle for my 4th graders, max 40 words per slide.", 12 * 32),
        ("Give me 5 SEO keywords of 1-2 words each for a vegan bakery in Portland.", 7.5),
        ("Write a bedtime story in 5 short chapters, about 150 words per chapter, about a hedgehog.", 750),
        ("hey can u write three 50-word bios for our team page?? me (Dana, backend dev)", 150),
        (
            "Turn the post below into a 6-tweet thread, each tweet under 240 characters. No hashtags.\n\n---\n"
            "We spent the last quarter moving our CI to GitHub Actions.",
            6 * 0.8 * 240 / 6.2,
        ),
        (
            "Draft a concept note for a solar pilot. Sections: Problem, Approach, Team, Budget justification, "
            "Expected impact. Each section should be about 100 words.",
            500,
        ),
        (
            "Output format:\n- 4 bullets of review feedback\n- No more than 50 words per bullet\n- Flag anything "
            "that changes runtime behavior",
            4 * 40,
        ),
    ],
)
def test_a_size_per_counted_thing_is_multiplied_by_their_count(prompt: str, words: float) -> None:
    request = parse_length_request(prompt)
    assert request.unit == "items_of" and request.requested_words == pytest.approx(words, rel=0.01), request


@pytest.mark.parametrize(
    "prompt",
    [
        "My essay is 2,500 words and the limit is 2,000. Which sections do you think are weakest?\n\n"
        "1. Intro (300 words)\n2. History of the policy (800 words)\n3. Case studies (1,400 words)",
        "Action items from Thursday:\n1. Dana – update vendor list\n2. Eli – draft 2-page FAQ\n"
        "3. Marcus – write the 500-word blog post",
        "Write a product description for our new blender: 2-liter jar, 1500W motor, 6 speeds, 3 presets.",
        "The attached quarterly report has 3 sections of ~500 words each (Market, Operations, Outlook). "
        "Which section is weakest and why?",
        "Here are 3 product descriptions we wrote, about 60 words each. Which one is strongest and why?",
        "My translator charges $0.12 per source word. The user manual is 48 pages at roughly 350 words per "
        "page. Can you estimate the total cost?",
        "Here's the rubric I gave students: 'Part A: 5 short answers, 2-3 sentences each. Part B: one essay "
        "of 500 words.' Is it too long for a 50-minute exam?",
        "Exam format for my history final: Part A is 10 short answers (2-3 sentences each), Part B is 2 essays "
        "(~500 words each). I have 90 minutes total. How should I split my time?",
        "Our employee handbook currently has these sections:\n1. Leave & Time Off (2 pages)\n2. Code of Conduct "
        "(3 pages)\n3. Benefits (4 pages)\nWhere should a new remote-work stipend policy go?",
        "LinkedIn gives you a 220-character headline and posts up to 3,000 characters. So why does my headline "
        "get cut off after like 60 characters in search results??",
        "Can a tweet have at most 280 characters? And is there a limit on how many tweets a thread can have?",
        "Amazon lets us use 5 bullet points of up to 500 characters each on a listing. Do any of these break "
        "their policy?",
    ],
)
def test_parts_and_sizes_of_something_that_exists_are_not_the_answers(prompt: str) -> None:
    assert parse_length_request(prompt).kind != "absolute", parse_length_request(prompt)


def test_the_sized_parts_sets_are_read() -> None:
    """Answers asked for in sized parts and things sized each, written by helpers who never saw the
    parser, each after the lessons of the one before (docs/predictor.md). Held out / after its lessons,
    read of those with a length and false readings of the look-alikes: the first 4 of 40 and 7 of 20 /
    33 and 3; the second 12 of 45 and 8 of 25 / 24 and 5; the third 9 of 40 and 7 of 20 / 19 and 7; the
    fourth, not learnt from, 19 of 40 and 9 of 20 (1 and 10 before this work)."""
    rows = [json.loads(line) for line in (DATA / "length_parts_blind.jsonl").read_text("utf-8").splitlines()]
    score = score_parser(rows)
    assert len(rows) == 60 and score.lengths == 40
    assert score.read >= 33, score.wrong
    assert len(score.false_positives) <= 3, score.false_positives
    for name, rows_with_length, read, false in (
        ("length_parts_blind_2.jsonl", 45, 24, 5),
        ("length_parts_blind_3.jsonl", 40, 19, 7),
        ("length_parts_blind_4.jsonl", 40, 19, 9),
    ):
        rows = [json.loads(line) for line in (DATA / name).read_text("utf-8").splitlines()]
        score = score_parser(rows)
        assert score.lengths == rows_with_length, name
        assert score.read >= read, (name, score.wrong)
        assert len(score.false_positives) <= false, (name, score.false_positives)


@pytest.mark.parametrize(
    ("prompt", "unit"),
    [
        (
            "What country is this address in? Output the ISO 3166-1 alpha-2 code only.\n\nAddress: Rua Augusta 274",
            "short_answer",
        ),
        ("Give me the IATA airport code for Lisbon, nothing else.", "short_answer"),
        ("regex for US zip codes (5 digits or 5+4). just the regex, no explanation", "code_only"),
        (
            "Go middleware that logs method, path, status code and duration. Reply with only the code block.",
            "code_only",
        ),
        (
            "Write a small Rust CLI that strips trailing spaces from the clipboard. Only the code, no explanation.",
            "code_only",
        ),
        (
            "give me 15 behavioral interview questions for a senior ICU nurse role, one line each, no intro",
            "item",
        ),
        ("Give me 10 one-word names for a coffee shop, with a short reason for each.", "item"),
    ],
)
def test_codes_that_identify_things_and_lists_of_one_liners(prompt: str, unit: str) -> None:
    assert parse_length_request(prompt).unit == unit, parse_length_request(prompt)


@pytest.mark.parametrize(
    ("prompt", "count", "kind"),
    [
        ("can u write me 15 true/false statements about the French Revolution", 15, "question"),
        ("make me 8 icebreakers for a remote team meeting, nothing too personal pls", 8, "question"),
        ("Help me write a quick 5-question yes/no poll for my neighbours.", 5, "question"),
        (
            "Quiz night is Friday. I need 5 rounds of 8 questions: music, sport, film. Include answers.",
            40,
            "question",
        ),
        ("Give me 3 sets of 10 flashcards for Spanish verbs.", 30, "question"),
        ("Make 5 multiple-choice quiz questions from this text for my class.", 5, "question"),
        ("Crossword for a baby shower theme - need 15 clues and answers, nothing too hard.", 15, "question"),
        (
            "Create 3 multiple-choice questions for each of these topics: supply and demand, inflation, GDP.",
            9,
            "question",
        ),
        ("Write 2 discussion questions for each of the 5 chapters.", 10, "question"),
    ],
)
def test_sets_of_short_answer_items_to_write_are_lists(prompt: str, count: int, kind: str) -> None:
    """Quizzes, polls, flashcards and rounds are lists of the items they count ("5 rounds of 8
    questions": forty), whatever short answers their items ask for."""
    request = parse_length_request(prompt)
    assert (request.unit, request.count, request.item_kind) == ("item", count, kind)


@pytest.mark.parametrize(
    "prompt",
    [
        "Kahoot for my class - 15 questions, 4 answer options each, mark the correct one.",
        "I'm designing a 20-item exam with 4 options each. If a student guesses randomly, what's their expected score?",
        "Should I send the 1-page or the 2-page resume? The 2-page one has 6 bullets per job; the 1-page cuts it "
        "to 3 bullets each of about 15 words.",
        "Here's our standup transcript. Give me the action items.\n\nMaria: Anika, can you make two slides on "
        "onboarding?\nAnika: Sure.",
    ],
)
def test_a_count_of_each_items_parts_or_in_a_transcript_is_no_list(prompt: str) -> None:
    """ "4 answer options each" sizes the items counted before it; a request inside a pasted transcript is
    someone else's."""
    request = parse_length_request(prompt)
    assert not (request.unit == "item" and request.count in (2, 3, 4)), request


def test_a_blind_set_of_quizzes_and_polls_to_write_is_read() -> None:
    """90 prompts by a helper who never saw the grammar: 60 ask to write quizzes, polls, flashcards,
    riddles, worksheets (50 with a count), 30 use the same words for a short answer ("Answer yes or no",
    "Just the letter"). Held out: 31 of 50 counts read, no request to write read as a short answer, 10 of
    18 short answers read, one look-alike read as a list (docs/predictor.md)."""
    rows = [
        json.loads(line) for line in (DATA / "length_quizzes_blind.jsonl").read_text("utf-8").splitlines()
    ]
    generate = [r for r in rows if r["category"] == "generate"]
    counted = [r for r in generate if r["count"]]
    readings = {r["prompt"]: parse_length_request(r["prompt"]) for r in rows}

    def is_short(request: LengthRequest) -> bool:
        return request.kind == "absolute" and (request.requested_words or 99) <= 5

    def read(row: dict) -> bool:
        request = readings[row["prompt"]]
        if request.unit in ("item", "items_of") and request.count == row["count"]:
            return True
        return bool(request.requested_words) and abs(
            math.log(request.requested_words / row["expected_words"])
        ) < math.log(2)

    short = [
        r for r in rows if r["category"] == "lookalike" and r["expected_words"] and r["expected_words"] <= 3
    ]
    assert len(rows) == 90 and len(generate) == 60 and len(counted) == 50
    assert sum(map(read, counted)) >= 39
    assert not [r["prompt"] for r in generate if is_short(readings[r["prompt"]])]
    assert sum(is_short(readings[r["prompt"]]) for r in short) >= 10
    assert not [
        r["prompt"] for r in rows if r["category"] == "lookalike" and readings[r["prompt"]].unit == "item"
    ]
