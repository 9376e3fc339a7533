"""Engine profiles: the shipped defaults load and follow the first-principles notes; bad files fail clearly."""

from __future__ import annotations

import pytest

from sagepred.errors import InputError
from sagepred.scheduler.profile import builtin_profiles, load_profile

VALID = """
name: tiny
step_base_s: 0.01
per_token_s: 1.0e-5
per_kv_token_s: 1.0e-8
kv_capacity_tokens: 4096
"""


def test_default_profiles_ship_and_load():
    names = builtin_profiles()
    assert {"llama-3.1-8b-h100", "llama-3.1-8b-a40", "qwen3-32b-h800"} <= set(names)
    for name in names:
        profile = load_profile(name)
        assert profile.name == name
        assert profile.num_blocks * profile.block_size <= profile.kv_capacity_tokens
        assert profile.step_base_s > 0 and profile.per_token_s > 0 and profile.per_kv_token_s > 0
    assert load_profile().name == "llama-3.1-8b-h100"


def test_h100_profile_matches_the_decode_step_of_the_notes():
    # notes: 64 sequences × 1,000 context tokens ≈ 5.4 ms weights + 2.8 ms KV, plus a few ms overhead
    profile = load_profile("llama-3.1-8b-h100")
    step = profile.step_time(batched_tokens=64, kv_tokens_read=64_000)
    assert 0.008 < step < 0.013
    a40 = load_profile("llama-3.1-8b-a40")
    qwen = load_profile("qwen3-32b-h800")
    assert a40.step_time(64, 64_000) > 2 * step
    assert qwen.kv_capacity_tokens < a40.kv_capacity_tokens < profile.kv_capacity_tokens


def test_profile_from_file(tmp_path):
    path = tmp_path / "tiny.yaml"
    path.write_text(VALID)
    profile = load_profile(path)
    assert profile.kv_capacity_tokens == 4096 and profile.num_blocks == 256 and profile.chunked_prefill
    assert profile.host_per_request_s == 0.0 and profile.host_per_step_s == 0.0  # off unless measured
    path.write_text(VALID + "host_per_request_s: 3.0e-4\nhost_per_step_s: 5.0e-5\n")
    hosted = load_profile(path)
    assert (hosted.host_per_request_s, hosted.host_per_step_s) == (3.0e-4, 5.0e-5)
    slower = hosted.scaled(2.0)
    assert slower.step_base_s == 0.02 and slower.host_per_request_s == 3.0e-4  # speed scales steps only


@pytest.mark.parametrize(
    ("text", "field"),
    [
        (VALID.replace("per_token_s: 1.0e-5\n", ""), "per_token_s"),
        (VALID.replace("0.01", "-0.01"), "step_base_s"),
        (VALID.replace("4096", "-5"), "kv_capacity_tokens"),
        (VALID.replace("4096", "40.5"), "kv_capacity_tokens"),
        (VALID + "max_num_seqs: zero\n", "max_num_seqs"),
        (VALID + "chunked_prefill: 3\n", "chunked_prefill"),
        (VALID + "warp_speed: 9\n", "warp_speed"),
        (VALID + "host_per_request_s: -0.001\n", "host_per_request_s"),
        (VALID + "host_per_step_s: fast\n", "host_per_step_s"),
    ],
)
def test_bad_profiles_name_file_and_field(tmp_path, text, field):
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(InputError) as err:
        load_profile(path)
    assert err.value.field == field
    assert str(path) in str(err.value)


def test_missing_and_malformed_profiles(tmp_path):
    with pytest.raises(InputError, match="not found"):
        load_profile(tmp_path / "none.yaml")
    with pytest.raises(InputError, match="unknown profile"):
        load_profile("no-such-profile")
    path = tmp_path / "broken.yaml"
    path.write_text("name: [unclosed\n")
    with pytest.raises(InputError, match="malformed"):
        load_profile(path)
    path.write_text("- a list\n")
    with pytest.raises(InputError, match="mapping"):
        load_profile(path)


def test_scaled_profile_prices_every_step_by_the_factor():
    profile = load_profile("llama-3.1-8b-h100")
    slower = profile.scaled(1.25)
    assert slower.step_time(300, 9000) == pytest.approx(1.25 * profile.step_time(300, 9000))
    assert (
        slower.kv_capacity_tokens == profile.kv_capacity_tokens
        and slower.max_num_seqs == profile.max_num_seqs
    )
    with pytest.raises(ValueError, match="positive"):
        profile.scaled(0.0)
