"""Plans and schedules sized by their structure (sagepred.length_plans), through the English grammar."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from sagepred.length_instructions import parse_length_request
from sagepred.length_plans import plan_items
from sagepred.list_sizes import list_words

DATA = Path(__file__).resolve().parents[1] / "data"


@pytest.mark.parametrize(
    ("prompt", "count"),
    [
        ("Plan a 4-day trip to Lisbon for me and my partner, 3 activities per day. Budget is €1200.", 12),
        ("Give me a study plan for the AWS exam: 6 weeks, and for each week list 5 topics.", 30),
        ("Write a 7-day meal plan with breakfast, lunch, dinner and a snack each day. I'm 190 lbs.", 28),
        ("Create a 4-week plan with 3 lessons per week, each lesson having 2 activities.", 24),
        ("Mon-Fri study schedule for bar exam prep, 2 subjects per day please.", 10),
        ("Race is in 8 weeks. For now just give me weeks 1 through 6, three runs per week.", 18),
        ("Write a 30-60-90 day onboarding plan for a new analyst, with 4 goals for each phase.", 12),
        ("Project timeline for launching our mobile app: 5 phases, 4 tasks in each.", 20),
        ("A week on Iceland's Ring Road in October, two stops per day.", 14),
        ("Spanish study plan for the next 6 weeks — two 15-minute tasks daily.", 84),
        ("Pros and cons of migrating our 2 TB database to DynamoDB — 4 of each, please.", 8),
        ("What are the pros and cons of remote work? Give 3 of each.", 6),
        (
            "I'm deciding between Austin, Denver, Raleigh and Portland. Three pros and three cons for each city.",
            24,
        ),
        ("I've got six guest interviews booked for my podcast. Each one needs 8 questions.", 48),
        ("Weekly chore chart for my 3 kids (ages 6, 9 and 12): five age-appropriate chores per kid.", 15),
        (
            "Write a 7-day devotional. Every day should have a scripture, a short reflection, and a closing prayer.",
            21,
        ),
        ("Shoulder rehab for the next 4 weeks, 7 days a week, 3 exercises a day.", 84),
        ("Three slow cooker soups, each written out in 7 steps. Serves 6.", 21),
        ("We're in Lisbon for 5 days. Each day I'd like 2 museums and a restaurant. Budget is €80/day.", 15),
        ("could you write 10 problems per topic for algebra, geometry and statistics", 30),
        (
            "We're migrating 40 users to a new CRM. Draft a project plan with 5 phases and 6 tasks in each phase.",
            30,
        ),
        ("6 weeknight chicken recipes please, 5 steps each, steps only no ingredient list. Feeds 4.", 30),
        (
            "we're shortlisting CRMs: HubSpot, Pipedrive, Zoho, Salesforce, Close. 3 pros and 3 cons for each?",
            30,
        ),
        (
            "Visiting Porto, Seville, Granada, Valencia, Bilbao and Madrid — 5 tips for each of these 6 cities?",
            30,
        ),
        ("make flashcards for my pharmacology textbook, 15 per chapter for chapters 3-7", 75),
        ("pls make me a workout plan 5 days a week for 6 weeks im 16 and 60kg", 30),
        ("Planting calendar for my allotment, month by month March through October, 3 jobs per month.", 24),
        ("pub quiz for saturday, teams of 4. 6 rounds of 10 questions, mix of music, sport, film.", 60),
        ("5-day Rome itinerary, 4 stops per day", 20),
        ("7 day keto meal plan, 3 meals + 1 snack/day", 28),
        ("4 week 5k training plan, 3 runs/wk, I'm 42", 12),
        ("3-day push/pull/legs split, 4-6 exercises each day", 15),
        ("2 posts each for LinkedIn, X, Instagram announcing our $12M Series A", 6),
        ("Please break the project into 5 phases with 4 tasks each.", 20),
        ("Can you do two weeks of dinners for us? Neither of us is a great cook.", 14),
        (
            "My parents are visiting for 4 days. Plan each day with a morning, afternoon, and evening activity.",
            12,
        ),
        (
            "I'm subbing all next week (Mon–Fri). I need each day to have a warm-up, two main activities and an exit ticket.",
            20,
        ),
        ("Give me a full-body workout program, 3x/week for 8 weeks. I have dumbbells up to 50 lb.", 24),
    ],
)
def test_a_plan_is_a_list_of_its_periods_items(prompt: str, count: int) -> None:
    """The periods (or counted groups) times the items asked for each, nested items included; the grammar
    reads it as a list of that many items, sized as lists are."""
    found = plan_items(prompt)
    assert found is not None and found.count == count, found
    request = parse_length_request(prompt)
    assert (request.kind, request.unit, request.count) == ("absolute", "item", count)
    assert request.requested_words == pytest.approx(list_words(count, request.item_kind))


@pytest.mark.parametrize(
    "prompt",
    [
        "Is 3 workouts a week enough to lose 5 kg in 2 months?",
        "I'm reading 2 books at once, 30 pages a day each. Bad idea?",
        "if a meal plan has 3 meals a day for 14 days how many meals is that",
        "I've done 3 sets of 10 push-ups every day for 6 weeks and haven't progressed. What am I doing wrong?",
        "Client just emailed: 'Please send 3 logo concepts, each with 2 color variations.' Help me reply politely.",
        "Our team plan gives us 2 million tokens a month and we burned 1.4M in the first week. How do I budget?",
        "A sonnet has 14 lines and each line has 10 syllables. How many syllables are in a crown of 7 sonnets?",
        "My 7-day Japan itinerary has 4 activities a day. Too packed?",
        "my teacher gave us a 12-week revision plan with 4 subjects a week and I'm already behind in week 3.",
        "I posted 4 reels a week for 12 weeks and gained 1,240 followers. What's that per reel on average?",
        "I'm on day 4 of a 7-day Lisbon itinerary with 3 stops per day. Is Tram 28 worth it or is it too touristy?",
        "I teach 4 sections of 30 students each. If each worksheet is 2 pages, how many pages do I need to print?",
        "Our generator makes 12 API calls per itinerary, we expect 3,000 itineraries/month at $0.002 per call. "
        "Monthly cost? just the number",
        "Kid's birthday party, 3 hours total, split into 20-minute slots with one activity per slot.",
        "I've run my Etsy shop for 2 years and sales have plateaued at around $800 a month. What should I change?",
        "system: You are a fitness coach. Users follow 12-week programs with 3 workouts per week.\n"
        "user: I missed two workouts this week because of a cold. What should I do now?",
    ],
)
def test_a_rate_in_a_question_a_habit_a_quote_or_a_description_is_no_plan(prompt: str) -> None:
    assert plan_items(prompt) is None
    assert parse_length_request(prompt).unit != "item"


def _rows(name: str) -> list[dict]:
    return [json.loads(line) for line in (DATA / name).read_text(encoding="utf-8").splitlines()]


@pytest.mark.parametrize(
    ("name", "least_read", "most_false"),
    [
        # written first; the reader was built on it: 14 of 45 at the stop's start, 44 after
        ("length_plans_blind.jsonl", 44, 2),
        # held out after the first set's lessons: 27 of 45 (9 at the stop's start), 3 false; 42 after
        ("length_plans_blind_2.jsonl", 42, 2),
        # held out after the second set's lessons: 27 of 45 (7 at the stop's start), 2 false; 39 after, none
        ("length_plans_blind_3.jsonl", 39, 0),
        # held out after the third set's lessons: 26 of 45 (13 at the stop's start), 2 false; 36 after, none
        ("length_plans_blind_4.jsonl", 36, 0),
    ],
)
def test_blind_sets_of_plans_are_read(name: str, least_read: int, most_false: int) -> None:
    """Plans by helpers who never saw the grammar: 45 whose structure gives a size (read: the items
    counted, or the size within 2×), 15 that give only their periods, and 30 look-alikes (questions about
    plans, rates, habits) that no plan reading may take; their other readings, of the older grammar, are
    counted as false."""
    rows = _rows(name)
    sized = [r for r in rows if r["category"] == "plan" and r["expected_words"]]
    looks = [r for r in rows if r["category"] == "lookalike"]
    assert len(rows) == 90 and len(sized) == 45 and len(looks) == 30

    def read(row: dict) -> bool:
        request = parse_length_request(row["prompt"])
        if request.unit in ("item", "items_of") and request.count == row["total_items"]:
            return True
        words = request.requested_words
        return bool(words) and abs(math.log(words / row["expected_words"])) < math.log(2)

    assert sum(map(read, sized)) >= least_read
    assert not [r["prompt"] for r in looks if plan_items(r["prompt"]) is not None]
    unsized_looks = [r for r in looks if not r["expected_words"]]
    false = [r["prompt"] for r in unsized_looks if parse_length_request(r["prompt"]).kind == "absolute"]
    assert len(false) <= most_false, false
