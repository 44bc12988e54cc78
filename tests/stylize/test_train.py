import numpy as np
import pytest
import torch

from keyframe.errors import KeyframeError
from keyframe.stylize import GeneratorConfig, KeyPair, StyleConfig, StyleModel, TrainConfig, train_style

SMALL = StyleConfig(generator=GeneratorConfig(widths=(8, 16), res_blocks=1))
# One thread: tiny tensors gain nothing from two, and lose a lot when other jobs share the CPU.
FAST = TrainConfig(iterations=40, batch_size=8, patch_size=16, perceptual_weight=0.0, learning_rate=3e-3, threads=1)


def _pair(seed=0, size=(48, 64)):
    rng = np.random.default_rng(seed)
    frame = rng.integers(0, 256, (*size, 3)).astype(np.uint8)
    # A colour look: swap red and blue, darken.
    painted = (frame[..., ::-1] * 0.7).astype(np.uint8)
    return KeyPair(frame, painted, stem=f"k{seed}")


def _weights(model):
    return torch.cat([p.detach().flatten() for p in model.generator.parameters()])


def test_training_learns_the_look_on_an_unseen_frame():
    model, stats = train_style([_pair(0)], SMALL, TrainConfig(**{**FAST.__dict__, "iterations": 200, "batch_size": 16}))
    assert stats.iterations == 200 and stats.losses[-1] < stats.losses[0] * 0.7
    test = _pair(1)
    before = np.abs(test.frame.astype(float) - test.painted).mean()
    after = np.abs(model.apply(test.frame).astype(float) - test.painted).mean()
    assert after < 0.6 * before, (after, before)


def test_interrupted_training_resumes_to_the_same_model(tmp_path):
    straight, _ = train_style([_pair()], SMALL, FAST)
    checkpoint = tmp_path / "style.pt"

    def interrupt(done, total, note):
        if done == 30:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        train_style([_pair()], SMALL, TrainConfig(**{**FAST.__dict__, "checkpoint_every": 20}), checkpoint, progress=interrupt)
    resumed, stats = train_style([_pair()], SMALL, TrainConfig(**{**FAST.__dict__, "checkpoint_every": 20}), checkpoint)
    assert stats.resumed_from == 20 and stats.iterations == 40
    torch.testing.assert_close(_weights(resumed), _weights(straight), rtol=0, atol=1e-6)
    # Done already: a further call trains nothing and loads the same weights.
    again, stats = train_style([_pair()], SMALL, FAST, checkpoint)
    assert stats.resumed_from == 40
    assert torch.equal(_weights(again), _weights(resumed))
    assert torch.equal(_weights(StyleModel.load(checkpoint)), _weights(resumed))


# A checkpoint after every iteration, as checkpoint_seconds gives one on a slow machine.
OFTEN = TrainConfig(**{**FAST.__dict__, "checkpoint_seconds": 1e-9})


def _stopped_at_iteration_30(checkpoint):
    def interrupt(done, total, note):
        if done == 30:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        train_style([_pair()], SMALL, OFTEN, checkpoint, progress=interrupt)


def test_a_run_interrupted_between_checkpoints_loses_at_most_checkpoint_seconds_and_resumes_exactly(tmp_path):
    # Checkpoints came every 250 iterations only: Ctrl-C a minute into a run lost all of it. A checkpoint now also
    # follows every checkpoint_seconds, and a resume from any of them is exact.
    straight, straight_stats = train_style([_pair()], SMALL, FAST)
    _stopped_at_iteration_30(tmp_path / "style.pt")
    resumed, stats = train_style([_pair()], SMALL, OFTEN, tmp_path / "style.pt")
    assert stats.resumed_from == 30
    torch.testing.assert_close(_weights(resumed), _weights(straight), rtol=0, atol=1e-6)
    assert stats.losses == straight_stats.losses  # the smoothed loss goes on as it would have


def test_ctrl_c_in_the_middle_of_a_step_saves_that_step_whole_and_resumes_exactly(tmp_path, monkeypatch):
    # Checkpoints every 20 steps; a Ctrl-C (a real SIGINT) while step 27 draws its patches stops after that
    # step, saved: nothing is lost, and the rerun goes on to the model an uninterrupted run makes.
    import signal

    from keyframe.stylize import functional

    straight, straight_stats = train_style([_pair()], SMALL, FAST)
    every_20 = TrainConfig(**{**FAST.__dict__, "checkpoint_every": 20})
    real_sample = functional.sample_patches
    drawn = []

    def sample_then_ctrl_c(*args):
        drawn.append(1)
        if len(drawn) == 27:
            signal.raise_signal(signal.SIGINT)
        return real_sample(*args)

    monkeypatch.setattr(functional, "sample_patches", sample_then_ctrl_c)
    with pytest.raises(KeyboardInterrupt):
        train_style([_pair()], SMALL, every_20, tmp_path / "style.pt")
    monkeypatch.setattr(functional, "sample_patches", real_sample)
    assert len(drawn) == 27 and signal.getsignal(signal.SIGINT) is signal.default_int_handler
    resumed, stats = train_style([_pair()], SMALL, every_20, tmp_path / "style.pt")
    assert stats.resumed_from == 27
    torch.testing.assert_close(_weights(resumed), _weights(straight), rtol=0, atol=1e-6)
    assert stats.losses == straight_stats.losses


def test_a_run_cut_short_and_resumed_as_a_shorter_one_says_its_model_differs(tmp_path, caplog):
    _stopped_at_iteration_30(tmp_path / "style.pt")
    _, stats = train_style([_pair()], SMALL, TrainConfig(**{**OFTEN.__dict__, "iterations": 35}), tmp_path / "style.pt")
    assert stats.resumed_from == 30 and stats.iterations == 35
    assert "would have decayed from iteration 25" in caplog.text


def test_checkpoint_of_other_keyframes_is_not_resumed(tmp_path):
    checkpoint = tmp_path / "style.pt"
    train_style([_pair(0)], SMALL, FAST, checkpoint)
    _, stats = train_style([_pair(1)], SMALL, FAST, checkpoint)
    assert stats.resumed_from == 0


def test_checkpoint_of_other_training_settings_is_not_resumed_but_a_larger_budget_is(tmp_path, caplog):
    checkpoint = tmp_path / "style.pt"
    train_style([_pair(0)], SMALL, FAST, checkpoint)
    reseeded, stats = train_style([_pair(0)], SMALL, TrainConfig(**{**FAST.__dict__, "seed": 1}), checkpoint)
    assert stats.resumed_from == 0  # same seed, same model: another seed is another model
    fresh, _ = train_style([_pair(0)], SMALL, TrainConfig(**{**FAST.__dict__, "seed": 1}))
    assert torch.equal(_weights(reseeded), _weights(fresh))
    _, stats = train_style([_pair(0)], SMALL, TrainConfig(**{**FAST.__dict__, "seed": 1, "iterations": 50, "threads": 2}), checkpoint)
    assert stats.resumed_from == 40 and stats.iterations == 50
    _, stats = train_style([_pair(0)], SMALL, TrainConfig(**{**FAST.__dict__, "seed": 1, "iterations": 10}), checkpoint)
    assert stats.iterations == 50 and "more than the 10 asked" in caplog.text


def test_mask_limits_what_is_learned():
    pair = _pair()
    pair.mask = np.zeros(pair.frame.shape[:2], bool)
    pair.mask[:, :32] = True
    train = TrainConfig(**{**FAST.__dict__, "mask_dilation": 0})
    model, _ = train_style([pair], SMALL, train)
    assert model.apply(pair.frame).shape == pair.frame.shape
    pair.mask[:] = False
    with pytest.raises(ValueError, match="empty"):
        train_style([pair], SMALL, train)


def test_guided_model_needs_its_guide():
    style = StyleConfig(generator=GeneratorConfig(widths=(8, 16), res_blocks=1), guides=True)
    pair = _pair()
    pair.guide = np.random.default_rng(0).random((*pair.frame.shape[:2], 3)).astype(np.float32)
    model, _ = train_style([pair], style, TrainConfig(**{**FAST.__dict__, "iterations": 5}))
    assert model.apply(pair.frame, pair.guide).shape == pair.frame.shape
    with pytest.raises(ValueError, match="the frame has no guide but the model uses guides"):
        model.apply(pair.frame)


def test_reduced_scale_model_returns_full_resolution():
    style = StyleConfig(generator=GeneratorConfig(widths=(8, 16), res_blocks=1), scale=0.5)
    model, _ = train_style([_pair()], style, TrainConfig(**{**FAST.__dict__, "iterations": 5}))
    assert model.apply(_pair(2).frame).shape == (48, 64, 3)


def test_unreadable_checkpoint_is_a_clear_error(tmp_path):
    bad = tmp_path / "style.pt"
    bad.write_text("not a checkpoint")
    with pytest.raises(KeyframeError, match="style.pt"):
        StyleModel.load(bad)


def test_wrong_images_and_settings_are_named():
    frame = _pair().frame
    for pair, message in [(KeyPair(frame / 255.0, frame / 255.0), "the frame must be a uint8 RGB image"),
                          (KeyPair(frame, frame[..., 0]), "the painting must be a uint8 RGB image"),
                          (KeyPair(frame, frame, np.ones((20, 64), bool)), r"mask \(20, 64\) and frame \(48, 64\) differ")]:
        with pytest.raises(ValueError, match=message):
            train_style([pair], SMALL, FAST)
    with pytest.raises(ValueError, match="no keyframes"):
        train_style([], SMALL, FAST)
    model, _ = train_style([_pair()], SMALL, TrainConfig(**{**FAST.__dict__, "iterations": 2}))
    with pytest.raises(ValueError, match="frame must be a uint8 RGB image"):
        model.apply(frame / 255.0)
    for field, value in [("batch_size", 0), ("iterations", "5"), ("learning_rate", float("nan")), ("seed", -1),
                         ("patch_size", 4), ("threads", 0)]:
        with pytest.raises(KeyframeError, match=field if field != "seed" else "--seed"):
            TrainConfig(**{**FAST.__dict__, field: value})
    with pytest.raises(KeyframeError, match="multiple of the generator's stride 4"):
        train_style([_pair()], SMALL, TrainConfig(**{**FAST.__dict__, "patch_size": 18}))


TWO_STEPS = TrainConfig(**{**FAST.__dict__, "iterations": 2})
GUIDED = StyleConfig(generator=GeneratorConfig(widths=(8, 16), res_blocks=1), guides=True)


def test_a_soft_mask_is_refused_and_integer_labels_learn_as_booleans():
    pair = _pair()
    inside = np.zeros(pair.frame.shape[:2], bool)
    inside[8:40, 16:48] = True
    # Cast to uint8, 0.5 became 0: "every keyframe mask is empty".
    with pytest.raises(ValueError, match="keyframe 'k0': the mask must be boolean .* got float64"):
        train_style([KeyPair(pair.frame, pair.painted, inside * 0.5, stem="k0")], SMALL, TWO_STEPS)
    boolean, _ = train_style([KeyPair(pair.frame, pair.painted, inside)], SMALL, TWO_STEPS)
    for labels in (inside * np.uint8(255), inside * 256):  # 256 wrapped to 0 in the uint8 of the dilation
        model, _ = train_style([KeyPair(pair.frame, pair.painted, labels)], SMALL, TWO_STEPS)
        torch.testing.assert_close(_weights(model), _weights(boolean), rtol=0, atol=0)


def test_keyframes_are_checked_before_they_are_read():
    pair = _pair()
    # The fingerprint read a list's .shape: AttributeError.
    with pytest.raises(ValueError, match="keyframe 'k0': the frame must be a uint8 RGB image"):
        train_style([KeyPair(pair.frame.tolist(), pair.painted, stem="k0")], SMALL, TWO_STEPS)
    mask = np.ones(pair.frame.shape[:2], bool).tolist()  # a list of booleans is a boolean mask
    assert train_style([KeyPair(pair.frame, pair.painted, mask)], SMALL, TWO_STEPS)[1].iterations == 2


def test_a_guide_of_another_size_than_the_frame_is_refused():
    pair = _pair()
    # Training: a numpy concatenate error; applying: torch's "Sizes of tensors must match".
    with pytest.raises(ValueError, match=r"keyframe 'k0': guide \(8, 8, 3\) and frame \(48, 64, 3\) differ in size"):
        train_style([KeyPair(pair.frame, pair.painted, guide=np.zeros((8, 8, 3), np.float32), stem="k0")], GUIDED,
                    TWO_STEPS)
    with pytest.raises(ValueError, match=r"the frame: guide \(16, 16, 3\) and frame \(48, 64, 3\) differ in size"):
        StyleModel(GUIDED).apply(pair.frame, guide=np.zeros((16, 16, 3), np.float32))


def test_a_guide_given_to_a_model_without_guides_is_refused():
    frame = _pair().frame
    guide = np.zeros((*frame.shape[:2], 3), np.float32)
    with pytest.raises(ValueError, match="the frame has a guide but the model does not use guides"):  # was ignored
        StyleModel(SMALL).apply(frame, guide=guide)
    np.testing.assert_array_equal(StyleModel(SMALL).apply(frame), frame)  # untrained: the frame back
    with pytest.raises(ValueError, match="has a guide but the model does not use guides"):  # was trained, ignoring it
        train_style([KeyPair(frame, _pair().painted, guide=guide, stem="k0")], SMALL, FAST)


def test_iterations_past_a_day_of_training_are_refused():
    assert TrainConfig(iterations=1_000_000).iterations == 1_000_000
    with pytest.raises(KeyframeError, match="--iterations must be at most 1,000,000 .about a day on a laptop CPU., got 10,000,000"):
        TrainConfig(iterations=10_000_000)
