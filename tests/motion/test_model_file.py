"""Movement model files whose fields read but hold what no learned model can: refused on load, naming the file."""

import copy
import math

import numpy as np
import pytest
import torch

from keyframe.errors import KeyframeError
from keyframe.motion import detect, load_model

NAN, INF = float("nan"), float("inf")


@pytest.fixture(scope="module")
def archive(wave_model):
    """The raw archive of the small pixel model, with a cohort member and a partner added (both copies of its
    own predictor, so the file stays a valid model of several parts without learning another)."""
    _, path = wave_model
    data = torch.load(path, weights_only=True)
    member = {**copy.deepcopy(data["own"]), "source": "squat.mp4"}
    partner = {k: copy.deepcopy(v) for k, v in data.items() if k not in ("format", "version", "partners", "weights")}
    # Learning leaves a partner's threshold NaN (only the whole model's is calibrated): it must still load.
    partner.update(threshold=NAN, calibration={}, partners=[], weights=[], cohort=[copy.deepcopy(member)])
    return {**data, "cohort": [member], "partners": [partner], "weights": [0.5, 0.5]}


def _set(data: dict, keys: tuple, value) -> dict:
    data = copy.deepcopy(data)
    target = data
    for key in keys[:-1]:
        target = target[key]
    target[keys[-1]] = value
    return data


def _scale_state(data: dict, name: str, value: float) -> dict:
    data = copy.deepcopy(data)
    data["own"]["state"][name] = torch.full_like(data["own"]["state"][name], value)
    return data


DAMAGED = {
    # The shape pixel features are cut into for SSIM must be the image the feature vector is.
    "image_shape_nonsense": (lambda a: _set(a, ("image_shape",), [1, 2]), r"image shape \[1, 2\]"),
    "image_shape_same_size_wrong_sides": (lambda a: _set(a, ("image_shape",), [1, 8, 32]), "image shape"),
    "image_shape_missing_for_pixels": (lambda a: _set(a, ("image_shape",), None), "image shape None"),
    "dim_not_the_pixels": (lambda a: _set(a, ("dim",), 255), "255 values per frame for pixels features"),
    "feature_kind_unknown": (lambda a: _set(a, ("features", "kind"), "bogus"), "unknown feature kind 'bogus'"),
    "feature_size_out_of_range": (lambda a: _set(a, ("features", "size"), 999), "pixel feature size"),
    "feature_size_not_whole": (lambda a: _set(a, ("features", "size"), 16.0), "feature size 16.0"),
    "pose_frame_unknown": (lambda a: _set(a, ("features", "pose_frame"), "sideways"), "unknown pose frame"),
    "features_not_a_record": (lambda a: _set(a, ("features",), [1, 2]), "feature settings"),
    "unknown_feature_setting": (lambda a: _set(a, ("features", "colour"), True), "TypeError"),
    "window_length_not_whole": (lambda a: _set(a, ("window", "length"), 2.5), "window length must be a whole number.*got 2.5"),
    "window_length_text": (lambda a: _set(a, ("window", "length"), "9"), "window length must be a whole number.*got '9'"),
    "net_hidden_changed": (lambda a: _set(a, ("net", "hidden"), 7), "RuntimeError"),
    "threshold_nan": (lambda a: _set(a, ("threshold",), NAN), "threshold nan"),
    "threshold_inf": (lambda a: _set(a, ("threshold",), INF), "threshold inf"),
    "threshold_minus_inf": (lambda a: _set(a, ("threshold",), -INF), "threshold -inf"),
    "threshold_text": (lambda a: _set(a, ("threshold",), "high"), "ValueError"),
    "motion_weight_nan": (lambda a: _set(a, ("motion_weight",), NAN), "motion weight nan"),
    "motion_weight_negative": (lambda a: _set(a, ("motion_weight",), -1.0), "motion weight -1.0"),
    "own_ref_nan": (lambda a: _set(a, ("own", "refs"), [NAN, 0.1, 0.1]), "reference MSE error nan"),
    "own_ref_negative": (lambda a: _set(a, ("own", "refs"), [0.1, -0.1, 0.1]), "reference SSIM error -0.1"),
    "own_refs_too_few": (lambda a: _set(a, ("own", "refs"), [0.1, 0.1]), "2 reference errors"),
    "own_mean_inf": (lambda a: _set(a, ("own", "mean"), INF), "impostor mean inf"),
    "own_spread_zero": (lambda a: _set(a, ("own", "spread"), 0.0), "impostor spread 0.0"),
    "own_spread_nan": (lambda a: _set(a, ("own", "spread"), NAN), "impostor spread nan"),
    "own_not_a_record": (lambda a: _set(a, ("own",), "weights"), "TypeError"),
    "weights_nan": (lambda a: _scale_state(a, "encode.weight", NAN), r"non-finite predictor weights \(encode.weight\)"),
    "feature_scale_zero": (lambda a: _scale_state(a, "scale", 0.0), "feature scale that is not positive"),
    "state_not_a_record": (lambda a: _set(a, ("own", "state"), [1, 2]), ""),
    "cohort_ref_nan": (lambda a: _set(a, ("cohort", 0, "refs"), [0.1, 0.1, NAN]), "cohort member 1's reference"),
    "cohort_spread_negative": (lambda a: _set(a, ("cohort", 0, "spread"), -1.0), "cohort member 1's impostor spread"),
    "cohort_not_a_list": (lambda a: _set(a, ("cohort",), "x"), ""),
    "fusion_weight_nan": (lambda a: _set(a, ("weights",), [NAN, 0.5]), "fusion weight nan"),
    "fusion_weight_negative": (lambda a: _set(a, ("weights",), [-0.5, 1.5]), "fusion weight -0.5"),
    "calibration_not_a_record": (lambda a: _set(a, ("calibration",), [1]), "calibration"),
    "partner_image_shape": (lambda a: _set(a, ("partners", 0, "image_shape"), [1, 2]), r"image shape \[1, 2\]"),
    "partner_kind_unknown": (lambda a: _set(a, ("partners", 0, "features", "kind"), "bogus"),
                             "unknown feature kind 'bogus'"),
    "partner_spread_nan": (lambda a: _set(a, ("partners", 0, "own", "spread"), NAN), "impostor spread nan"),
    "partner_motion_weight_inf": (lambda a: _set(a, ("partners", 0, "motion_weight"), INF), "motion weight inf"),
    "partner_cohort_ref_nan": (lambda a: _set(a, ("partners", 0, "cohort", 0, "refs"), [NAN, 0.1, 0.1]),
                               "cohort member 1's reference"),
    "partner_window_length": (lambda a: _set(a, ("partners", 0, "window", "length"), 5), "windows of 5 frames"),
    "partner_with_partners": (lambda a: _set(_set(a, ("partners", 0, "partners"), [copy.deepcopy(a["partners"][0])]),
                                             ("partners", 0, "weights"), [0.5, 0.5]), "partners of its own"),
    "partner_not_a_record": (lambda a: _set(a, ("partners", 0), 3), ""),
}


def test_the_model_with_a_cohort_and_a_partner_loads_and_detects(archive, wave_clip, tmp_path):
    torch.save(archive, tmp_path / "whole.kfm")
    model = load_model(tmp_path / "whole.kfm")
    assert len(model.cohort) == 1 and len(model.partners) == 1 and math.isnan(model.partners[0].threshold)
    assert model.image_shape == (1, 16, 16) and math.isfinite(model.threshold)
    result = detect(tmp_path / "whole.kfm", wave_clip[:30])
    assert np.isfinite(result.window_scores).all() and math.isfinite(result.score)


def test_the_learned_model_file_still_loads(wave_model):
    model, path = wave_model
    loaded = load_model(path)
    assert loaded.image_shape == model.image_shape == (1, 16, 16) and loaded.threshold == pytest.approx(model.threshold)


@pytest.mark.parametrize("case", sorted(DAMAGED))
def test_damaged_fields_are_refused_naming_the_file(case, archive, tmp_path):
    damage, problem = DAMAGED[case]
    path = tmp_path / f"{case}.kfm"
    torch.save(damage(archive), path)
    with pytest.raises(KeyframeError, match=f"{case}.kfm: damaged movement model \\(.*{problem}") as caught:
        load_model(path)
    assert "\n" not in str(caught.value) and str(caught.value).startswith(str(path))


@pytest.mark.parametrize("case", ["image_shape_nonsense", "feature_kind_unknown", "threshold_nan"])
def test_detect_refuses_the_damaged_file_before_scoring(case, archive, wave_clip, tmp_path):
    path = tmp_path / f"{case}.kfm"
    torch.save(DAMAGED[case][0](archive), path)
    with pytest.raises(KeyframeError, match=f"{case}.kfm: damaged movement model"):
        detect(path, wave_clip[:30])


def test_a_folder_given_as_the_model_says_so(tmp_path):
    with pytest.raises(KeyframeError, match="is a folder, not a model file"):
        load_model(tmp_path)
    with pytest.raises(KeyframeError, match="/dev/null: is a device or a pipe, not a model file"):
        load_model("/dev/null")
    with pytest.raises(KeyframeError, match="none.kfm: no such model file"):
        load_model(tmp_path / "none.kfm")


def test_bytes_changed_inside_the_weights_are_refused_by_their_checksum(wave_model, tmp_path):
    """Flipped bytes in a tensor still unpickle (the archive's layout is intact): only the archive's CRC-32 of
    that entry tells, and a model that reads wrong weights would score every video wrong without a word."""
    import zipfile

    _, path = wave_model
    data = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as archive:
        largest = max(archive.infolist(), key=lambda info: info.file_size)
    # Where the entry's bytes start: after its local header (30 bytes, the name and the extra field).
    name_length, extra_length = int.from_bytes(data[largest.header_offset + 26 : largest.header_offset + 28], "little"), \
        int.from_bytes(data[largest.header_offset + 28 : largest.header_offset + 30], "little")
    start = largest.header_offset + 30 + name_length + extra_length + largest.file_size // 2
    data[start : start + 16] = bytes(value ^ 0xFF for value in data[start : start + 16])
    damaged = tmp_path / "flipped.kfm"
    damaged.write_bytes(bytes(data))
    with pytest.raises(KeyframeError, match=r"flipped.kfm: damaged movement model \(.*checksum") as caught:
        load_model(damaged)
    assert "\n" not in str(caught.value)


def test_a_model_saved_without_checksums_still_loads(wave_model, tmp_path):
    """torch.save with compute_crc32 off writes 0 for every checksum: nothing to check, not damage."""
    from torch.utils.serialization import config

    _, path = wave_model
    data = torch.load(path, weights_only=True)
    before = config.save.compute_crc32
    config.save.compute_crc32 = False
    try:
        torch.save(data, tmp_path / "unchecked.kfm")
    finally:
        config.save.compute_crc32 = before
    assert load_model(tmp_path / "unchecked.kfm").threshold == pytest.approx(load_model(path).threshold)


def test_a_damaged_end_of_archive_record_is_refused_in_one_line(wave_model, tmp_path):
    """zipfile.is_zipfile raises, rather than saying no, when the disk number in the archive's zip64 end locator is
    damaged: the file must still be refused by name, on load and as the target of a new model."""
    from keyframe.motion.model import is_model_file

    _, path = wave_model
    data = bytearray(path.read_bytes())
    locator = data.rfind(b"PK\x06\x07")
    data[locator + 4] ^= 1  # the disk that holds the zip64 end record
    damaged = tmp_path / "end.kfm"
    damaged.write_bytes(bytes(data))
    with pytest.raises(KeyframeError, match=r"end.kfm: not a readable movement model \(damaged"):
        load_model(damaged)
    assert not is_model_file(damaged)


def test_a_model_prints_as_one_line_of_what_it_is(wave_model, cohort_model):
    model, _ = wave_model
    assert repr(model) == (f"MovementModel(features='pixels', window=9, threshold={model.threshold:.3f}, cohort=0, "
                           "clips=['clip 1'])")
    cohort, _ = cohort_model
    assert "\n" not in repr(cohort) and "cohort=3" in repr(cohort) and len(repr(cohort)) < 300
