"""Plans and schedules sized by their structure: "a 4-day trip, 3 activities per day" asks for twelve
activities, "6 weeks, and for each week list 5 topics" for thirty, "a 7-day meal plan with breakfast, lunch,
dinner and a snack each day" for twenty-eight meals, "a 4-week plan with 3 lessons per week, each lesson
having 2 activities" for twenty-four activities.

:func:`plan_items` finds how many periods a plan spans (days, weeks, months, phases, lessons, episodes…:
"a 4-day trip", "weeks 1 through 6", "Mon-Fri", "a week", "30-60-90 day") and how many items it asks for
each ("3 activities per day", "each week should have 3 posts", "4 tasks in each", "breakfast, lunch and
dinner each day"), items of items included, and groups other than time when the prompt counts or names
them ("five chores per kid" for "my 3 kids", "5 tips for each of these 6 cities", "6 rounds of 10
questions"); the English grammar sizes the product as a list of that many items. A rate in a question
("Is 3 workouts a week enough …?"), in a quote, in a description of a plan that exists, in the user's
own habit ("30 pages a day") or in money ("$800 a month") is no plan.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from sagepred.number_words import NUMBER, parse_number

_PERIOD = r"(?:day|night|week|month|phase|stage|lesson|episode|module|chapter|sprint|session)"
_PERIOD_COUNT = re.compile(
    rf"\b(?P<n>{NUMBER})[- ](?:[a-z]+[- ])??(?P<period>{_PERIOD})s?\b(?![- ](?:old|ago|rolling|streak)\b)"
    r"(?!\s+(?:a|per|each|every)\s+(?:day|week|month)\b)",
    re.IGNORECASE,
)
"""A number of periods: "a 4-day trip", "16 weeks", "two-week schedule", "10 episodes", "a 3-day weekend";
not a rate ("7 days a week")."""
_PERIOD_RANGE = re.compile(
    r"\b(?P<period>day|week|month|lesson|episode|module|chapter|session)s?\s+(?P<a>\d{1,3})\s*"
    r"(?:-|–|to|through|thru)\s*(?P<b>\d{1,3})\b",
    re.IGNORECASE,
)
"""Periods by their numbers: "weeks 1 through 6", "days 1-5"."""
_NAMED_SPAN = re.compile(
    r"\b(?P<weekdays>mon(?:day)?\s*(?:-|–|to|through|thru)\s*fri(?:day)?|weekdays)\b|"
    r"\b(?P<week>mon(?:day)?\s*(?:-|–|to|through|thru)\s*sun(?:day)?|a week|one week|weekly|a full week)\b|"
    r"\b(?P<fortnight>fortnight)\b|\b(?P<weekend>(?:a|the|this) (?:long )?weekend)\b|"
    r"\b(?P<month>a month|one month|monthly)\b|\b(?P<phases>30[- /]60[- /]90)\b",
    re.IGNORECASE,
)
"""Spans named without a count: a working week (5 days), a week (7), a fortnight, a weekend, a month, the
three phases of a 30-60-90-day plan."""
_NAMED_DAYS = {
    "weekdays": ("day", 5.0),
    "week": ("day", 7.0),
    "fortnight": ("day", 14.0),
    "weekend": ("day", 2.0),
}
_NAMED_OTHER = {"month": ("month", 1.0), "phases": ("phase", 3.0)}

_FUNCTION_WORD = (
    r"(?:on|in|at|of|for|from|with|to|is|are|was|were|be|been|if|and|or|not|also|the|a|an|that|this|these|"
    r"those|there|where|when|which|who|has|have|had|gives?|per|by|as|into|than|then|it|its|each|every|more|"
    r"less|fewer|other|times?)\b"
)
_ITEM = rf"(?P<item>(?!{_FUNCTION_WORD})[a-z][\w-]*)"
_RANGE_HIGH = rf"(?:\s*(?:-|–|to)\s*(?P<m_high>{NUMBER}))?"
"""The top of a count given as a range ("4-6 exercises", "4 to 6 stops"): the count is the middle."""
_FILLERS = rf"(?:(?!{_FUNCTION_WORD})(?:[A-Za-z][\w'-]*|\d+-[a-z][\w-]*)\s+){{0,2}}?"
_ITEM_END = (
    r"(?=\s*(?:[,.;:?!)\n/]|$)|\s+(?:and|plus|&|per|a|an|each|every|in|for|of|under|on|with|daily|nightly|to|"
    r"about|that|please|pls|only)\b)"
)
"""After an item noun: the end of its phrase ("3 segment ideas and …": the item is "ideas")."""
_AND_MORE = (
    rf"(?:\s*(?:\s(?:and|plus)|&|\+)\s*(?:(?P<m2>{NUMBER})\s+{_FILLERS}|(?P<one>an?)\s+(?:[\w-]+\s+)?)"
    rf"(?P<item2>(?!{_FUNCTION_WORD})[a-z][\w-]*){_ITEM_END})?"
)
"""A second kind of item beside the first: "three pros and three cons", "2 museums and a restaurant"."""
_PER_GROUP = re.compile(
    rf"\b(?P<m>{NUMBER}){_RANGE_HIGH}\s+{_FILLERS}{_ITEM}{_AND_MORE}\s*(?:\s(?:per|a|an|each|every|in each|"
    rf"for each|for every|under each)\s+(?P<per>[a-z][\w-]*)\b|/\s*(?P<slash>day|d|night|wk|wks|week|mo|month)\b|"
    rf"\s(?P<daily>daily|nightly)\b)",
    re.IGNORECASE,
)
"""Items for each group after their count: "3 activities per day", "4 stops a day", "4-6 exercises each day",
"two 15-minute tasks daily", "three pros and three cons for each city", "five chores per kid", "3 runs/wk"."""
_FOR_EACH_OF = re.compile(
    rf"\b(?P<m>{NUMBER})\s+{_FILLERS}{_ITEM}{_AND_MORE}(?:\s+with\s+[a-z][\w-]*)?\s+(?:for|in|of|under|on)\s+"
    r"(?:each|every one)\s+of\s+"
    rf"(?:these|the|those|my|our|your|the following)\s+(?:(?P<g>{NUMBER})\s+)?(?:[\w-]+\s+)?"
    rf"(?P<per>(?!{_FUNCTION_WORD})[a-z][\w-]*)",
    re.IGNORECASE,
)
"""Items for each of the groups named: "5 tips for each of these 6 cities", "3 arguments for each of the 4
motions"."""
_GROUPS_OF = re.compile(
    rf"\b(?P<g>{NUMBER})\s+(?P<per>rounds?|sets?|groups?|batches|sections|categories|parts|blocks)\s+of\s+"
    rf"(?P<m>{NUMBER})\s+{_FILLERS}{_ITEM}{_ITEM_END}",
    re.IGNORECASE,
)
"""Items in counted groups: "6 rounds of 10 questions"."""
_SUB_PARTS = re.compile(
    r"^(?:options?|choices?|answers?|hints?|variations?|alternatives?|versions?|variants?|colou?rs?|sizes?)$",
    re.I,
)
"""Items each of a listed thing has as its own parts ("15 questions, 4 answer options each"), not items of
the answer's list."""
_THINGS_EACH = re.compile(
    rf"\b(?P<g>{NUMBER})\s+{_FILLERS}(?P<per>[a-z][\w-]*s)\b[^.;:?!\n]{{0,40}}?(?:,|\swith)\s+(?P<m>{NUMBER})\s+"
    rf"{_FILLERS}{_ITEM}\s+each\b",
    re.IGNORECASE,
)
"""Items of each counted thing: "6 weeknight chicken recipes please, 5 steps each", "5 phases with 4 tasks
each"."""
_EACH_FOR_LISTED = re.compile(
    rf"\b(?P<m>{NUMBER})\s+{_FILLERS}{_ITEM}\s+each\b(?=\s*(?:for|on|across|about)\s)",
    re.IGNORECASE,
)
"""Items for each of things named after them: "2 posts each for LinkedIn, X, Instagram", "10 problems each for
the 6s, 7s, 8s and 9s"."""
_TIMES_A_WEEK = re.compile(r"\b(?P<m>\d{1,2})\s*x\s*(?:/\s*|a\s+|per\s+|each\s+)(?:week|wk)\b", re.IGNORECASE)
"""Sessions a week: "3x/week", "4x a week"."""
_DAYS_OF_MEALS = re.compile(
    rf"\b(?P<n>{NUMBER})\s+(?P<period>days?|weeks?|months?)(?:'s|s')?\s+(?:worth\s+)?of\s+"
    r"(?P<item>breakfasts|lunches|dinners|suppers|meals|packed lunches)\b",
    re.IGNORECASE,
)
"""A meal a day for a span: "two weeks of dinners"."""
_BARE_PER = re.compile(
    rf"(?<![$€£¥])\b(?P<m>{NUMBER})\s+(?:per|each|for each)\s+(?P<per>{_PERIOD}|chapter|topic|unit|module|person|"
    r"member|section|category|student|team)\b",
    re.IGNORECASE,
)
"""A count per group whose items were named before it: "flashcards …, 15 per chapter"."""
_DAYS_A_WEEK = re.compile(rf"\b(?P<m>{NUMBER})\s+days?\s+(?:a|per|each|every)\s+week\b", re.IGNORECASE)
"""Sessions a week counted as days: "a workout plan 5 days a week for 6 weeks"."""
_LISTED_AFTER = re.compile(
    r"\s*(?:for|on|in|about|covering|across|:)\s+(?:the\s+)?(?P<names>[\w'&/ -]{2,40}(?:,\s*[\w'&/ -]{2,40})+,?\s+(?:and|or)\s+"
    r"[\w'&/-]+(?:\s+[\w'&/-]+){0,3})",
    re.IGNORECASE,
)
"""The groups named right after a count per group: "10 problems per topic for algebra, geometry and
statistics"."""
_MONTHS = (
    "january", "february", "march", "april", "may", "june", "july", "august", "september", "october",
    "november", "december",
)  # fmt: skip
_MONTH_RANGE = re.compile(
    rf"\b(?P<a>{'|'.join(_MONTHS)})\s+(?:-|–|to|through|thru|until)\s+(?P<b>{'|'.join(_MONTHS)})\b",
    re.IGNORECASE,
)
_HAS = (
    r"(?:should (?:have|include|contain|cover|get)|with|having|needs?|must have|will have|:|-|–|list|"
    r"give(?: me)?|suggest|include|(?:i|we)(?: want| need|'d like| would like| 'd like))"
)
_EACH_GROUP_HAS = re.compile(
    rf"\b(?:each|every|per)\s+(?P<per>[a-z][\w-]*)\s*(?:,\s*)?{_HAS}\s+"
    rf"(?:(?:about|around|roughly|exactly|at least|up to)\s+)?(?P<m>{NUMBER})\s+{_FILLERS}{_ITEM}{_AND_MORE}",
    re.IGNORECASE,
)
"""Items for each group before their count: "each week should have 3 posts", "for each week list 5 topics",
"each lesson having 2 activities", "Each one needs 8 questions"."""
_EACH_GROUP_LISTS = re.compile(
    rf"\b(?:each|every)\s+(?P<per>{_PERIOD})\s*(?:,\s*)?(?:(?:to have|to include|{_HAS})\s+)?(?P<list>an?\s+[^.;:\n]{{2,160}})",
    re.IGNORECASE,
)
"""Items for each period as a list of things: "Every day should have a scripture, a short reflection, and a
closing prayer", "each day a verse and a two-sentence reflection"."""
_LISTED_THING = re.compile(
    rf"(?:^|,|\band\b|\bplus\b|&)\s*(?:and\s+)?(?:an?|(?P<n>{NUMBER}))\s+[a-z]", re.IGNORECASE
)
_IN_EACH = re.compile(
    rf"\b(?P<m>{NUMBER})\s+{_FILLERS}{_ITEM}{_AND_MORE}\s+(?:in|for|of|under) each\b(?!\s+(?:of|other)\b)"
    rf"(?:\s+(?P<per>[a-z][\w-]*))?",
    re.IGNORECASE,
)
"""Items for each of the groups counted before: "5 phases, 4 tasks in each", "3 talking points for each",
"5 bullets under each"."""
_EACH_IN = re.compile(
    rf"\beach\s+(?:one\s+)?(?:written\s+out\s+|broken\s+down\s+|laid\s+out\s+)?(?:in|with|into)\s+(?P<m>{NUMBER})\s+"
    rf"{_FILLERS}{_ITEM}{_ITEM_END}{_AND_MORE}",
    re.IGNORECASE,
)
"""Items of each thing just counted: "Three slow cooker soups, each written out in 7 steps"."""
_PAIR_OF_EACH = re.compile(
    rf"\b(?:pros and cons|advantages and disadvantages|strengths and weaknesses|dos and don'?ts|"
    rf"benefits and (?:drawbacks|risks))\b[^\n]{{0,80}}?\b(?P<m>{NUMBER}) of each\b",
    re.IGNORECASE,
)
""""Pros and cons …, 4 of each": eight points."""
_SLOT = r"(?:breakfast|brunch|lunch|dinner|supper|snacks?|dessert|morning|afternoon|evening)"
_SLOTS = re.compile(
    r"(?P<pre>\b(?:each|every|per)\s+day\s+(?:with|having|:|to have|to include|should have)\s+(?:an?\s+)?)?"
    rf"\b(?P<slots>{_SLOT}(?:\s*(?:,\s*(?:and|or|plus)?|&|\+|/|and|or|plus)?\s*(?:an?\s+|one\s+)?{_SLOT})+)"
    r"(?:\s+(?:session|slot|block|meal|activit(?:y|ies))s?)?"
    r"(?P<per>\s+(?:for\s+)?(?:each|every|per|a)\s+(?:day|night)|\s+daily)?",
    re.IGNORECASE,
)
"""The slots of each day: "breakfast, lunch, dinner and a snack each day", "a morning and an afternoon
session each day"."""
_MEAL_PLAN = re.compile(r"\b(?:meal|menu|food|eating|diet)\s+(?:plan|schedule|prep)\b|\bitinerary\b", re.I)
_NOT_ITEMS = re.compile(
    r"^(?:words?|sentences?|paragraphs?|pages?|lines?|characters?|minutes?|mins?|hours?|hrs?|seconds?|times?|"
    r"days?|weeks?|months?|years?|kms?|kilomet\w+|miles?|meters?|metres?|steps?|reps?|calories|kcal|"
    r"grams?|kgs?|lbs?|pounds?|ounces?|oz|liters?|litres?|cups?|glasses|servings?|hrs|mg|g|tokens?|credits?|"
    r"requests?|calls?|dollars?|usd|euros?|gb|mb|tb|users?|visitors?|views?|percent|hits|downloads?|sets?|"
    r"syllables?|letters?|"
    r"of|more|less|fewer|or|to|and)$",
    re.IGNORECASE,
)
"""Nouns after a count that measure (a distance, a time, a dose, a length), not items of the plan."""
_STEP_ITEMS = re.compile(r"^steps?$", re.IGNORECASE)
_NOT_GROUPS = re.compile(
    r"^(?:it|them|that|this|other|of|time|hour|minute|person|serving|pot|cup|mile|km|rep|line|word|sentence)$",
    re.I,
)
"""Words after "per" that are a rate's unit or a pronoun, not a group of the plan ("$20 per pot")."""
_ASKS = re.compile(
    r"\b(?:give|make|plan (?:me |us )?(?:a|an|my|our|the)|create|write|draft|build|design|outline|suggest|"
    r"put together|map out|lay out|"
    r"break (?:it|this) down|redo|can you|could you|would you|need|want|help me)\b",
    re.IGNORECASE,
)
_OWN_RATE = re.compile(
    r"\b(?:i|we)(?:'m|'re|'ve| am| are| have| had)?\s+(?:currently\s+|usually\s+|already\s+|normally\s+|only\s+|been\s+)?"
    r"(?:do|did|done|eat|read|run|walk|lift|swim|train|work|study|sleep|drink|have|get|take|spend|post|publish|"
    r"doing|eating|reading|running|walking|lifting|swimming|training|working|studying|posting|posted|ran|ate|"
    r"walked|lifted|swam|trained|worked|studied|slept|drank|had|got|took|spent|published|made|wrote|sent|teach|"
    r"grade|manage|expect|receive|handle|serve|see|sell|ship|sold|on|in)\b[^.?!\n]{0,30}$",
    re.IGNORECASE,
)
"""Before a rate: the user's own habit ("I'm reading 2 books at once, 30 pages a day"), not a plan's."""
_ASKS_NOTHING = re.compile(
    r"\bhow (?:many|much|long|often)\b|^\s*(?:if|is|are|does|do|should|would|will|what|which|why)\b", re.I
)
"""A sentence that asks a question of its own (arithmetic, advice) rather than for a plan."""
READ_CHARS = 2_000
"""Characters read from each end of a longer text."""
_CUE = re.compile(
    r"\b(?:per|each|every|daily|nightly|an? [a-z]+|rounds?|sets?|groups?|batches|sections|categories|parts|blocks|"
    r"breakfast|brunch|lunch|dinner|supper|snacks?|morning|afternoon|evening|breakfasts|lunches|dinners|meals)\b|/",
    re.IGNORECASE,
)
"""A word every plan reading needs: without one the patterns are not tried (speed)."""
_ARITHMETIC = re.compile(r"\bhow (?:many|much|long)\b", re.IGNORECASE)
_DESCRIPTION = re.compile(
    r"^\s*(?:users|customers|clients|members|students|people|they|it|this|that|(?:an?|the|our|my|your|their|his|her)"
    r"(?:\s+[\w'-]+){1,3}?)\s+(?:currently\s+|usually\s+|already\s+|typically\s+)?(?:follows?|has|have|had|gives?|"
    r"gets?|includes?|consists? of|runs?|contains?|offers?|uses?|is|are|was|were|allows?|lets?|gave|made|sent|"
    r"wrote|shared|assigned|created|built|designed|set)\b",
    re.IGNORECASE,
)
"""A sentence that describes a plan that exists ("Users follow 12-week programs with 3 workouts per week",
"My itinerary has 4 activities a day") rather than asking for one."""
_NAMES = re.compile(
    r"(?P<names>(?:[A-Z][\w'-]*(?:\s+[A-Z][\w'-]*)*,\s*)+(?:[A-Z][\w'-]*(?:\s+[A-Z][\w'-]*)*,?\s+)?"
    r"(?:and|or)\s+[A-Z][\w'-]*(?:\s+[A-Z][\w'-]*)*|(?:[A-Z][\w'-]*(?:\s+[A-Z][\w'-]*)*,\s*){2,}"
    r"[A-Z][\w'-]*(?:\s+[A-Z][\w'-]*)*)"
)
"""Things named in a list before a "for each": "Austin, Denver, Raleigh and Portland", "HubSpot, Pipedrive,
Zoho, Salesforce, Close"."""


@dataclass(frozen=True)
class PlanItems:
    """The items a plan asks for: ``count`` of ``noun`` (the groups × the items of each), and its ``text``."""

    count: float
    noun: str
    text: str


@dataclass(frozen=True)
class _Each:
    """A phrase that asks for ``items`` of ``noun`` for each ``per`` (a period or any counted group)."""

    start: int
    end: int
    per: str
    items: float
    noun: str
    groups: float | None = None


def _stem(noun: str) -> str:
    word = noun.lower()
    if word.endswith("ies"):
        return word[:-3] + "y"
    return word[:-1] if word.endswith("s") and not word.endswith("ss") else word


def _sentence(prompt: str, start: int, end: int) -> str:
    """The sentence around ``start``–``end``."""
    left = max(prompt.rfind(mark, 0, start) for mark in ".?!\n")
    rights = [i for i in (prompt.find(mark, end) for mark in ".?!\n") if i >= 0]
    return prompt[left + 1 : (min(rights) + 1) if rights else len(prompt)]


_QUOTED = re.compile(
    r"\"[^\"\n]{1,300}\"|\u201c[^\u201d\n]{1,300}\u201d|(?<!\w)'(?:[^'\n]|'(?=\w)){1,300}?'(?!\w)"
)
"""A quoted passage (someone else's words: "Client just emailed: 'Please send 3 logo concepts, …'")."""


@lru_cache(maxsize=8)
def _last_sentence(prompt: str) -> str:
    """The prompt's last sentence (found once per prompt; every phrase's check reads it)."""
    return re.split(r"(?<=[.?!])\s+|\n", prompt.strip())[-1]


@lru_cache(maxsize=8)
def _quoted_spans(prompt: str) -> tuple[tuple[int, int], ...]:
    """Where ``prompt`` quotes someone (found once per prompt)."""
    return tuple(q.span() for q in _QUOTED.finditer(prompt))


def _is_a_plan_clause(prompt: str, start: int, end: int) -> bool:
    """A rate that asks for items: not quoted, not in a question that asks for nothing ("Is 3 workouts a
    week enough?"), a description of a plan that exists, nor the user's own habit."""
    if any(a < start < b for a, b in _quoted_spans(prompt)):
        return False
    sentence = _sentence(prompt, start, end)
    asks = _ASKS.search(sentence) is not None
    clause = max(
        prompt.rfind(mark, 0, start) for mark in (",", ";", ":", "—", "–", " - ", "\n", ".", "?", "!")
    )
    counted_request = not prompt[
        clause + 1 : start
    ].strip()  # the count opens its clause: "— 5 tips for each …?"
    if (
        (sentence.rstrip().endswith("?") or _ASKS_NOTHING.search(sentence))
        and not asks
        and not counted_request
    ):
        return False  # but "3 pros and 3 cons for each?" asks
    if _DESCRIPTION.search(sentence) and not asks:
        return False
    final = _last_sentence(prompt)
    if (
        not asks
        and not counted_request
        and final.endswith("?")
        and not _ASKS.search(final)
        and final not in sentence
    ):
        return False  # the situation before a question of its own: "I'm on day 4 of … 3 stops per day. Is Tram 28 worth it?"
    return not _OWN_RATE.search(prompt[max(0, start - 60) : start]) or asks


def _items_of(match: re.Match[str], steps: bool = False) -> float | None:
    """The items a phrase counts: its count, plus a second kind's ("three pros and three cons": six);
    ``steps``: a recipe's steps are items ("5 steps each"), elsewhere a walk's."""
    if match.string[max(0, match.start("m") - 1) : match.start("m")] in ("$", "€", "£", "¥"):
        return None  # "$800 a month": money
    items = parse_number(match.group("m"))
    if items is not None and items != int(items):
        return None  # "28.33 KiB/s": a measure, not a count of things
    high = match.groupdict().get("m_high")
    if items is not None and high and (parse_number(high) or 0) > items:  # "4-6 exercises": five
        items = (items + (parse_number(high) or items)) / 2
    item = match.group("item")
    if items is None or (_NOT_ITEMS.match(item) and not (steps and _STEP_ITEMS.match(item))):
        return None
    groups = match.groupdict()
    if groups.get("m2"):
        return items + (parse_number(groups["m2"]) or 0.0)
    return items + 1.0 if groups.get("one") else items


def _phrases(prompt: str) -> list[_Each]:
    """Every "items for each group" phrase of ``prompt`` that asks for a plan's items, in order."""
    found: list[_Each] = []
    for pattern in (_PER_GROUP, _EACH_GROUP_HAS, _IN_EACH, _FOR_EACH_OF, _GROUPS_OF, _THINGS_EACH):
        for m in pattern.finditer(prompt):
            items = _items_of(m, steps=pattern is _THINGS_EACH)
            per = (
                "day"
                if m.groupdict().get("daily")
                else (m.group("per") or m.groupdict().get("slash") or "").lower()
            )
            per = _ABBREVIATED.get(per, per)
            noun = m.group("item")
            if pattern is _THINGS_EACH and _SUB_PARTS.match(noun):
                continue
            if items and per and _stem(noun) == _stem(per):  # "5 phases and 6 tasks in each phase": the tasks
                second = m.groupdict().get("m2")
                items = parse_number(second) if second and m.groupdict().get("item2") else None
                noun = m.groupdict().get("item2") or noun
            if items and not _NOT_GROUPS.match(per) and _is_a_plan_clause(prompt, m.start(), m.end()):
                groups = parse_number(m.group("g")) if m.groupdict().get("g") else None
                found.append(_Each(m.start(), m.end(), _stem(per) if per else "", items, noun, groups))
    for m in _BARE_PER.finditer(prompt):
        items = parse_number(m.group("m"))
        start = max(prompt.rfind(mark, 0, m.start()) for mark in ".?!\n") + 1
        named = re.findall(r"\b([a-z][\w-]*s)\b", prompt[start : m.start()], re.IGNORECASE)
        noun = next(
            (n for n in reversed(named) if not _NOT_ITEMS.match(n) and not re.fullmatch(_FUNCTION_WORD, n)),
            "",
        )
        if items and noun and _is_a_plan_clause(prompt, m.start(), m.end()):
            found.append(_Each(m.start(), m.end(), _stem(m.group("per")), items, noun))
    for m in _EACH_FOR_LISTED.finditer(prompt):
        items, names = _items_of(m), _names_after(prompt, m.end())
        if items and names and _is_a_plan_clause(prompt, m.start(), m.end()):
            found.append(_Each(m.start(), m.end(), "", items, m.group("item"), names))
    for m in _TIMES_A_WEEK.finditer(prompt):
        items = parse_number(m.group("m"))
        if items and _is_a_plan_clause(prompt, m.start(), m.end()):
            found.append(_Each(m.start(), m.end(), "week", items, "sessions"))
    for m in _DAYS_OF_MEALS.finditer(prompt):
        n = parse_number(m.group("n"))
        days = _converted(_stem(m.group("period")), n, "day") if n else None
        if days and _is_a_plan_clause(prompt, m.start(), m.end()):
            found.append(_Each(m.start(), m.end(), "day", 1.0, m.group("item"), days))
    for m in _EACH_GROUP_LISTS.finditer(prompt):
        listed = sum(
            parse_number(t.group("n")) or 1 if t.group("n") else 1
            for t in _LISTED_THING.finditer(m.group("list"))
        )
        if listed >= 2 and _is_a_plan_clause(prompt, m.start(), m.end()):
            found.append(_Each(m.start(), m.end(), _stem(m.group("per")), float(listed), "item"))
    for m in _EACH_IN.finditer(prompt):
        items = _items_of(m, steps=True)
        if items and _is_a_plan_clause(prompt, m.start(), m.end()):
            found.append(_Each(m.start(), m.end(), "", items, m.group("item")))
    for m in _SLOTS.finditer(prompt):
        if m.group("per") or m.group("pre") or _MEAL_PLAN.search(prompt):
            slots = re.findall(_SLOT, m.group("slots"), re.IGNORECASE)
            if len(slots) >= 2 and _is_a_plan_clause(prompt, m.start(), m.end()):
                found.append(_Each(m.start(), m.end(), "day", float(len(slots)), slots[0]))
    for m in _DAYS_A_WEEK.finditer(prompt) if not found else ():  # a fallback: "3 exercises a day" says more
        items = parse_number(m.group("m"))
        if items and _is_a_plan_clause(prompt, m.start(), m.end()):
            found.append(_Each(m.start(), m.end(), "week", items, "sessions"))
    return sorted(found, key=lambda each: each.start)


_NAMES_AFTER = re.compile(
    r"\s*(?:(?:for|on|across|about)\s+|:\s*)(?:the\s+)?(?P<names>[\w'&/ -]{1,40}(?:,\s*[\w'&/ -]{1,40})+)",
    re.IGNORECASE,
)


def _names_after(prompt: str, end: int) -> float | None:
    """How many things a comma-separated list right after ``end`` names ("for LinkedIn, X, Instagram")."""
    found = _NAMES_AFTER.match(prompt, end)
    if found is None:
        return None
    names = _count_names(found.group("names"))
    return names if names >= 2 else None


def _count_names(names: str) -> float:
    """How many things a list names: its commas, and an "and" / "or" in its last part only ("Raleigh and
    Portland"; "supply and demand, inflation, GDP" is three)."""
    parts = [part for part in re.split(r",\s*(?:and\s+|or\s+)?", names) if part.strip()]
    last = re.split(r"\s+(?:and|or|&)\s+", parts[-1]) if parts else []
    return float(len(parts) - 1 + len([name for name in last if name.strip()]))


def _periods(prompt: str, per: str, before: int) -> float | None:
    """How many ``per`` periods the plan spans, read from the whole prompt (a range first, then the count
    nearest before ``before``, then any count, then a named span), converting days, weeks and months."""
    ranges = [m for m in _PERIOD_RANGE.finditer(prompt) if m.group("period").lower() == per]
    if ranges:
        return float(int(ranges[0].group("b")) - int(ranges[0].group("a")) + 1)
    counts = []
    for m in _PERIOD_COUNT.finditer(prompt):
        n = parse_number(m.group("n"))
        value = _converted(m.group("period").lower(), n, per) if n else None
        if value is not None:
            counts.append((m.start(), value))
    earlier = [value for start, value in counts if start < before]
    if earlier:
        return earlier[-1]
    if counts:
        return counts[0][1]
    for m in _NAMED_SPAN.finditer(prompt):
        name = m.lastgroup or ""
        period, n = _NAMED_DAYS.get(name) or _NAMED_OTHER[name]
        value = _converted(period, n, per)
        if value is not None:
            return value
    return None


_DAYS_IN = {"day": 1.0, "night": 1.0, "week": 7.0, "month": 30.0}


def _converted(period: str, n: float, per: str) -> float | None:
    """``n`` periods of ``period`` counted in ``per`` (weeks in days, months in weeks…); None if apart."""
    if period == per or {period, per} == {"day", "night"}:
        return n
    if period in _DAYS_IN and per in _DAYS_IN and _DAYS_IN[period] > _DAYS_IN[per]:
        return round(n * _DAYS_IN[period] / _DAYS_IN[per])
    return None


_ABBREVIATED = {"wk": "week", "wks": "week", "mo": "month", "mth": "month", "d": "day"}
"""Periods as people shorten them after a slash ("3 runs/wk")."""
_MEASURE_WORD = (
    r"(?:minutes?|mins?|hours?|hrs?|seconds?|secs?|days?|weeks?|months?|years?|km|miles?|kg|lbs?)\b"
)
"""A unit after a count that makes it a measure ("20-minute slots"), not a number of things."""


def _noun_pattern(noun: str | None) -> str:
    """A noun in the singular or plural ("city", "cities"); any plural noun for None."""
    if noun is None:
        return r"[a-z][\w-]*s"
    if noun.endswith("y"):
        return rf"(?:{re.escape(noun)}|{re.escape(noun[:-1])}ies)"
    return rf"{re.escape(noun)}(?:s|es)?"


def _counted(prompt: str, noun: str | None, before: int) -> float | None:
    """How many of ``noun`` the prompt counts before ``before`` ("my 3 kids", "six guest interviews"), or
    of the last thing counted there when ``noun`` is None ("Three slow cooker soups, each …"); else how
    many things it names in a list ("Austin, Denver, Raleigh and Portland … for each city")."""
    text = prompt[:before]
    counts = list(
        re.finditer(
            rf"\b(?P<n>{NUMBER})[\s-]+(?!{_MEASURE_WORD})(?:(?!\d)[\w'-]+\s+){{0,3}}?{_noun_pattern(noun)}\b",
            text,
            re.IGNORECASE,
        )
    )
    for m in reversed(counts):
        n = parse_number(m.group("n"))
        if n and n >= 2:
            return n
    names = list(_NAMES.finditer(text))
    if names:
        return _count_names(names[-1].group("names"))
    return None


def _groups(prompt: str, each: _Each) -> float | None:
    """How many groups ``each`` asks its items for."""
    if each.groups is not None:
        return each.groups
    if each.per == "month":
        months = _MONTH_RANGE.search(prompt)
        if months is not None:
            a, b = (_MONTHS.index(months.group(k).lower()) for k in ("a", "b"))
            return float((b - a) % 12 + 1)
    if not each.per or each.per == "one":
        counted = list(_PERIOD_COUNT.finditer(prompt, 0, each.start))
        if counted:
            return parse_number(counted[-1].group("n"))
        return _counted(prompt, None, each.start)
    if re.fullmatch(_PERIOD, each.per):
        periods = _periods(prompt, each.per, each.start)
        if periods is not None:
            return periods
    counted = _counted(prompt, each.per, each.start)
    if counted is not None:
        return counted
    listed = _LISTED_AFTER.match(
        prompt, each.end
    )  # "10 problems per topic for algebra, geometry and statistics"
    if listed is not None:
        return _count_names(listed.group("names"))
    return _names_after(prompt, each.end)  # "for each of these topics: supply and demand, inflation, GDP"


def plan_items(prompt: str) -> PlanItems | None:
    """The items a plan or schedule asks for (see the module docstring), or None."""
    if not _CUE.search(prompt):
        return None
    if len(prompt) > 2 * READ_CHARS:  # the reading's time grows with the text: a request opens or closes it
        prompt = prompt[:READ_CHARS] + "\n" + prompt[-READ_CHARS:]
    last = _last_sentence(prompt)
    if _ARITHMETIC.search(last) or (_ARITHMETIC.search(prompt) and not _ASKS.search(prompt)):
        return None  # "I teach 4 sections … 3 essays per student … how many hours …?"
    pair = _PAIR_OF_EACH.search(prompt)
    if pair is not None and _is_a_plan_clause(prompt, pair.start(), pair.end()):
        n = parse_number(pair.group("m"))
        return PlanItems(2 * n, "points", pair.group(0)) if n else None
    phrases = _phrases(prompt)
    for index, each in enumerate(phrases):
        groups = _groups(prompt, each)
        if groups is None or groups < 1:
            continue
        count, noun, end = groups * each.items, each.noun, each.end
        for inner in phrases[index + 1 :]:
            if inner.per and inner.per == _stem(
                noun
            ):  # "3 lessons per week, each lesson having 2 activities"
                count, noun, end = count * inner.items, inner.noun, max(end, inner.end)
                break
        if count >= 2:
            return PlanItems(count, noun, prompt[each.start : end])
    return None
