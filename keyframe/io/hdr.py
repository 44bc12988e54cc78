"""HDR and wide-gamut video shown as SDR: what phones record (HLG or PQ, BT.2020 primaries) turned into the
BT.709 RGB that every pipeline, and every PNG viewer, expects.

Without this, a 10-bit HDR frame converted straight to 8-bit RGB keeps its HDR signal: reference white lands
at 58 % (PQ) or 75 % (HLG) grey and BT.2020 colours look washed out. Here the signal is taken to display light
(the PQ EOTF, or HLG's inverse OETF and its system gamma for a 1000 cd/m2 display), the primaries are converted
to BT.709, highlights above the reference white (203 cd/m2, ITU-R BT.2408) are rolled off smoothly towards the
peak on the largest channel (so hue and saturation are kept), and the light is encoded for an SDR display
(BT.1886, gamma 2.4). What is below 80 % of reference white passes unchanged, so skin and mid-tones look as an
SDR recording of the scene would.
"""

from __future__ import annotations

from functools import lru_cache

import cv2
import numpy as np

# FFmpeg's AVColorTransferCharacteristic and AVColorPrimaries codes.
PQ, HLG = 16, 18
BT2020_PRIMARIES = 9
TRANSFER_NAMES = {PQ: "PQ", HLG: "HLG"}

REFERENCE_WHITE = 203.0  # cd/m2: HDR graphics and diffuse white (ITU-R BT.2408), shown as SDR white
HLG_PEAK = 1000.0  # cd/m2: the display HLG's system gamma is defined for
HLG_SYSTEM_GAMMA = 1.2
PQ_PEAK = 1000.0  # cd/m2: the usual mastering peak; brighter PQ highlights clip
KNEE = 0.8  # of reference white: below it, light passes unchanged
SDR_GAMMA = 2.4  # BT.1886 display

# Linear BT.2020 RGB to linear BT.709 RGB (ITU-R BT.2087).
BT2020_TO_BT709 = np.array([[1.6605, -0.5876, -0.0728],
                            [-0.1246, 1.1329, -0.0083],
                            [-0.0182, -0.1006, 1.1187]], np.float32)
BT2020_LUMA = np.array([0.2627, 0.6780, 0.0593], np.float32)

OUTPUT_STEPS = 4096  # the relative light's quantisation before the 8-bit encoding: finer than 8 bits in the shadows


def transfer_name(color_trc: int | None) -> str | None:
    """``"PQ"`` or ``"HLG"`` for an HDR transfer code, else None.

    Examples
    --------
    >>> transfer_name(18), transfer_name(1)
    ('HLG', None)
    """
    return TRANSFER_NAMES.get(color_trc)


def needs_mapping(color_trc: int | None, color_primaries: int | None) -> bool:
    """Whether a frame so tagged must go through :func:`to_sdr`: an HDR transfer, or BT.2020 primaries."""
    return color_trc in TRANSFER_NAMES or color_primaries == BT2020_PRIMARIES


def to_sdr(rgb: np.ndarray, color_trc: int | None, color_primaries: int | None = BT2020_PRIMARIES) -> np.ndarray:
    """Convert 16-bit non-linear RGB (a decoded HDR or wide-gamut frame, ``rgb48``) to 8-bit BT.709 RGB for an SDR display.

    ``color_trc`` is the frame's transfer (:data:`PQ`, :data:`HLG`, or any other code for an SDR transfer,
    taken as gamma 2.4); ``color_primaries`` its primaries (BT.2020 ones are converted to BT.709).

    Examples
    --------
    >>> white = np.full((1, 1, 3), round(0.75 * 65535), np.uint16)  # HLG reference white
    >>> to_sdr(white, HLG)[0, 0]
    array([244, 244, 244], dtype=uint8)
    """
    light = _display_light(rgb, color_trc)
    if color_primaries == BT2020_PRIMARIES:
        light = cv2.transform(light, BT2020_TO_BT709)
        np.maximum(light, 0, out=light)  # BT.2020 colours outside BT.709 clip to its gamut
    if color_trc in TRANSFER_NAMES:
        light = roll_off(light, _peak(color_trc) / REFERENCE_WHITE)
    return _encode_sdr(light)


def _display_light(rgb: np.ndarray, color_trc: int | None) -> np.ndarray:
    """Display light relative to the reference white for HDR transfers, to white for SDR ones."""
    linear = _linear_table(color_trc if color_trc in TRANSFER_NAMES else None)[rgb]
    if color_trc == HLG:
        # HLG's OOTF: the scene light is shown with a system gamma on the luminance, at the display's peak.
        luminance = np.maximum(cv2.transform(linear, BT2020_LUMA[None]), 1e-6)
        linear *= ((HLG_PEAK / REFERENCE_WHITE) * luminance ** (HLG_SYSTEM_GAMMA - 1))[..., None]
    return linear


def _peak(color_trc: int) -> float:
    return HLG_PEAK if color_trc == HLG else PQ_PEAK


@lru_cache(maxsize=3)
def _linear_table(color_trc: int | None) -> np.ndarray:
    """Linear light for each 16-bit code: relative to the reference white for PQ, scene light in [0, 1] for HLG,
    relative light for SDR."""
    signal = np.arange(65536, dtype=np.float64) / 65535
    if color_trc == PQ:
        m1, m2 = 2610 / 16384, 2523 / 4096 * 128
        c1, c2, c3 = 3424 / 4096, 2413 / 4096 * 32, 2392 / 4096 * 32
        powered = signal ** (1 / m2)
        linear = 10000 / REFERENCE_WHITE * (np.maximum(powered - c1, 0) / (c2 - c3 * powered)) ** (1 / m1)
    elif color_trc == HLG:
        a, b, c = 0.17883277, 0.28466892, 0.55991073
        linear = np.where(signal <= 0.5, signal ** 2 / 3, (np.exp((signal - c) / a) + b) / 12)
    else:
        linear = signal ** SDR_GAMMA
    return linear.astype(np.float32)


def roll_off(light: np.ndarray, peak: float, knee: float = KNEE) -> np.ndarray:
    """Compress relative light (1 = reference white) so that ``peak`` lands on 1: unchanged up to ``knee``, then an
    extended Reinhard curve whose slope is 1 at the knee; light above ``peak`` clips. It acts on each pixel's
    largest channel and scales the others with it, which keeps hue and saturation.

    Examples
    --------
    >>> roll_off(np.array([[0.5, 0.25, 0.0], [4.0, 2.0, 1.0]], np.float32), peak=4.0).round(3)
    array([[0.5 , 0.25, 0.  ],
           [1.  , 0.5 , 0.25]], dtype=float32)
    """
    light = np.ascontiguousarray(light, np.float32)
    largest = cv2.reduce(light.reshape(-1, 3), 1, cv2.REDUCE_MAX).reshape(light.shape[:-1])
    if largest.max() <= knee:
        return light
    # The curve, sampled finely once per peak, is looked up: computing it per pixel costs 10x more.
    table = _roll_off_scale(float(peak), float(knee))
    steps = np.minimum(largest * ((len(table) - 1) / peak) + 0.5, len(table) - 1).astype(np.int32)
    scale = np.minimum(table[steps], 1 / np.maximum(largest, 1e-6))
    return light * scale[..., None]


ROLL_OFF_STEPS = 8192


@lru_cache(maxsize=4)
def _roll_off_scale(peak: float, knee: float) -> np.ndarray:
    """The factor that :func:`roll_off` scales a pixel by, for largest channels from 0 to ``peak``."""
    largest = np.linspace(0, peak, ROLL_OFF_STEPS)
    above = np.maximum(largest - knee, 0) / (1 - knee)
    span = max((peak - knee) / (1 - knee), 1e-6)
    compressed = knee + (1 - knee) * above * (1 + above / span ** 2) / (1 + above)
    return np.where(largest > knee, compressed / np.maximum(largest, 1e-6), 1).astype(np.float32)


def _encode_sdr(light: np.ndarray) -> np.ndarray:
    steps = (np.minimum(light, 1) * (OUTPUT_STEPS - 1) + 0.5).astype(np.uint16)
    return _sdr_table()[steps]


@lru_cache(maxsize=1)
def _sdr_table() -> np.ndarray:
    relative = np.arange(OUTPUT_STEPS) / (OUTPUT_STEPS - 1)
    return np.round(255 * relative ** (1 / SDR_GAMMA)).astype(np.uint8)
