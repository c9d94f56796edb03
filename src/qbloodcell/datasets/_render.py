"""The renderer of the synthetic smear images: one chunk of drawn cells to uint8 RGB.

Every image is rendered on a coordinate grid, fully vectorised over a chunk of images:
shapes are signed-distance functions turned into soft masks one pixel wide (which
anti-aliases edges without supersampling), colours follow the Beer-Lambert law (each stain
component adds optical density, the transmitted light is ``background * exp(-OD)``), and
textures are white noise smoothed by per-image Gaussian blurs (batched matrix products).
Everything is computed in float64 and rounded to uint8 only at the end (see
:mod:`qbloodcell.datasets._synthetic` for why). The parameters of each image are drawn by
:func:`qbloodcell.datasets._synthetic._draw_parameters`.
"""

from __future__ import annotations

import numpy as np

from qbloodcell.datasets._cell_types import (
    CELL_EDGE,
    GRAIN_SCALE,
    NUCLEOLUS_OD,
    NUCLEUS_OD,
    RED_CELL_OD,
    RED_CELL_OVERLAP_MAX,
    RED_CELL_PALLOR,
    P,
)

_MAX_NUCLEOLI = 3
_MAX_VACUOLES = 4
_MAX_LOBES = 5


_FLOAT = np.float64


def _band_limited_noise(
    generator: np.random.Generator, n: int, size: int, scale: np.ndarray
) -> np.ndarray:
    """White noise smoothed by a Gaussian of ``scale`` pixels, unit std per image."""
    white = generator.standard_normal((n, size, size), dtype=_FLOAT)
    field = _gaussian_blur(white, scale)
    field -= field.mean(axis=(1, 2), keepdims=True)
    field /= field.std(axis=(1, 2), keepdims=True) + _FLOAT(1e-6)
    return field


def _gaussian_blur(images: np.ndarray, sigma: np.ndarray) -> np.ndarray:
    """Gaussian blur of ``sigma`` pixels per image, as ``K @ image @ K.T``.

    ``K`` is the Gaussian convolution matrix with rows renormalised at the borders (so
    edges keep their level). Two small batched matrix products per image are cheaper
    than FFTs at these sizes and avoid wrap-around. ``images`` is ``(n, s, s)`` or
    ``(n, c, s, s)``.
    """
    size = images.shape[-1]
    offsets = np.arange(size, dtype=_FLOAT)
    difference2 = (offsets[:, None] - offsets[None, :]) ** 2
    width = np.maximum(np.asarray(sigma, dtype=_FLOAT), _FLOAT(0.05))
    kernel = np.exp(-difference2 / (2 * width[:, None, None] ** 2))
    kernel /= kernel.sum(axis=2, keepdims=True)
    if images.ndim == 3:
        return kernel @ images @ kernel.transpose(0, 2, 1)
    return kernel[:, None] @ images @ kernel.transpose(0, 2, 1)[:, None]


def _soft(distance: np.ndarray, width: float | np.ndarray) -> np.ndarray:
    """Coverage of a pixel by the inside (distance < 0) of a shape: a ramp ``width`` wide.

    One pixel wide, it anti-aliases a sharp edge; wider, it is a soft boundary.
    """
    return np.clip(_FLOAT(0.5) - distance / width, _FLOAT(0.0), _FLOAT(1.0))


def _column(values: np.ndarray) -> np.ndarray:
    """Per-image values shaped to broadcast over ``(n, size, size)`` grids."""
    return np.asarray(values, dtype=_FLOAT)[:, None, None]


def _render(params: dict[str, np.ndarray], size: int, rng: np.random.RandomState) -> np.ndarray:
    """Render one chunk of images as uint8 RGB."""
    # bulk noise comes from a Generator (fast normals) seeded from ``rng``
    generator = np.random.default_rng(rng.randint(0, 2**31 - 1, size=4))
    c = params["continuous"]
    n = c.shape[0]
    pixel = 2.0 / size
    pixel_scale = size / 64.0
    axis = ((np.arange(size) + 0.5) * pixel - 1.0).astype(_FLOAT)
    x = axis[None, None, :]
    y = axis[None, :, None]
    zoom = params["zoom"]

    # white cell outline: a slightly elliptic disc with a wavy border (harmonics 2-4)
    radius = c[:, P["radius"]] * zoom
    cos_a, sin_a = np.cos(params["cell_angle"]), np.sin(params["cell_angle"])
    dx = x - _column(params["centre"][:, 0] * zoom)
    dy = y - _column(params["centre"][:, 1] * zoom)
    u = dx * _column(cos_a) + dy * _column(sin_a)
    v = -dx * _column(sin_a) + dy * _column(cos_a)
    u_round = u / _column(params["cell_aspect"])
    rho = np.sqrt(u_round**2 + v**2)
    cos_phi = u_round / (rho + _FLOAT(1e-6))
    sin_phi = v / (rho + _FLOAT(1e-6))
    cos_2, sin_2 = cos_phi**2 - sin_phi**2, 2 * cos_phi * sin_phi
    harmonics = (
        (cos_2, sin_2),
        (cos_2 * cos_phi - sin_2 * sin_phi, sin_2 * cos_phi + cos_2 * sin_phi),
        (cos_2**2 - sin_2**2, 2 * cos_2 * sin_2),
    )
    outline = np.ones_like(rho)
    for k, (cos_k, sin_k) in enumerate(harmonics):
        amplitude = params["outline_amplitude"][:, k]
        phase = params["outline_phase"][:, k]
        outline += _column(amplitude * np.cos(phase)) * cos_k
        outline -= _column(amplitude * np.sin(phase)) * sin_k
    cell = _soft(rho - _column(radius) * outline, CELL_EDGE * pixel)

    nucleus, anchor = _render_nucleus(params, u, v, radius, pixel)
    nucleus = np.minimum(nucleus, cell)
    nucleus_size = radius * c[:, P["nucleus_size"]]
    nucleoli = _render_spots(
        params["n_nucleoli"],
        anchor[:, None, :] + params["nucleolus_position"] * nucleus_size[:, None, None],
        params["nucleolus_radius"] * nucleus_size[:, None],
        u,
        v,
        pixel,
    )
    # vacuoles sit in the outer part of the cell, where the cytoplasm is
    vacuole_angle = 2.0 * np.pi * params["vacuole_position"][..., 0]
    vacuole_distance = radius[:, None] * (0.5 + 0.3 * params["vacuole_position"][..., 1])
    vacuoles = _render_spots(
        params["n_vacuoles"],
        np.stack(
            [vacuole_distance * np.cos(vacuole_angle), vacuole_distance * np.sin(vacuole_angle)],
            axis=-1,
        ),
        params["vacuole_radius"] * zoom[:, None],
        u,
        v,
        pixel,
    )

    chromatin = _band_limited_noise(generator, n, size, c[:, P["chromatin_scale"]] * pixel_scale)
    granule_field = _band_limited_noise(generator, n, size, c[:, P["granule_scale"]] * pixel_scale)
    # faint uneven staining (smear thickness, compression, the texture of the cells)
    grain = _band_limited_noise(
        generator, n, size, np.full(n, GRAIN_SCALE * pixel_scale)
    ) * _column(params["grain"])
    # granules: the upper tail of a band-limited field, i.e. separate dots
    granules = np.clip(
        (granule_field - _column(c[:, P["granule_threshold"]])) * _FLOAT(2.5),
        _FLOAT(0.0),
        _FLOAT(1.0),
    )
    granules *= cell

    cytoplasm = cell * (1 - nucleus) * (1 - _FLOAT(0.85) * vacuoles)
    nucleus_density = (
        _column(c[:, P["chromatin_density"]])
        # log-normal: dense chromatin clumps darker than the open chromatin is pale
        * np.exp(_column(c[:, P["chromatin_contrast"]]) * chromatin)
        * (1 - _column(c[:, P["nucleolus_contrast"]]) * nucleoli)
    )
    nucleolus_density = nucleus * _column(c[:, P["nucleolus_contrast"]]) * nucleoli
    red_cells = _render_red_cells(params, x, y, pixel) * (1 - cell)
    # the grain is in the cells (red and white); the empty field between them stays flat
    grain *= np.minimum(red_cells + cell, _FLOAT(1.0))

    cytoplasm_od = c[:, [P["cytoplasm_od_r"], P["cytoplasm_od_g"], P["cytoplasm_od_b"]]]
    granule_od = c[:, [P["granule_od_r"], P["granule_od_g"], P["granule_od_b"]]]
    stain = (params["stain_hue"] * params["stain"][:, None]).astype(_FLOAT)
    # optical density per channel: sum of the stain components (Beer-Lambert)
    # the red cells take the eosin of the stain, whose strength varies less than that of
    # the basophilic and nuclear stains; the field's grain is unstained
    red_cell_od = RED_CELL_OD[None, :] * params["red_cell_stain"][:, None]
    components = (
        (nucleus * nucleus_density, NUCLEUS_OD[None, :] * stain),
        (nucleolus_density, NUCLEOLUS_OD[None, :] * stain),
        (cytoplasm * _column(c[:, P["cytoplasm_density"]]), cytoplasm_od * stain),
        (granules * _column(c[:, P["granule_density"]]), granule_od * stain),
        (red_cells, red_cell_od),
        (grain, np.ones((n, 3))),
    )
    # channels first until the end: the blur then works on contiguous planes
    optical_density = np.zeros((n, 3, size, size), dtype=_FLOAT)
    for channel in range(3):
        for density, od in components:
            optical_density[:, channel] += density * _column(od[:, channel])
    optical_density = _gaussian_blur(optical_density, params["blur"] * pixel_scale)

    illumination = (
        1
        + _column(params["illumination"][:, 0]) * x
        + _column(params["illumination"][:, 1]) * y
        - _column(params["vignette"]) * (x**2 + y**2)
    )
    image = (
        params["background"].astype(_FLOAT)[:, :, None, None]
        * illumination[:, None]
        * np.exp(-optical_density)
    )
    image += _column(params["noise"])[:, None] * generator.standard_normal(
        image.shape, dtype=_FLOAT
    )
    image = np.clip(np.rint(image * 255), 0, 255).astype(np.uint8)
    return np.ascontiguousarray(image.transpose(0, 2, 3, 1))


def _render_nucleus(
    params: dict[str, np.ndarray],
    u: np.ndarray,
    v: np.ndarray,
    radius: np.ndarray,
    pixel: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Soft mask of the nucleus, a thick circular arc whose thickness may form lobes.

    A round nucleus is an arc of length 0, an oval one a short straight arc, a kidney a
    short thick curved arc, a band a long thin curved arc, a segmented nucleus a long arc
    whose thickness falls to thin filaments between 2-5 lobes. Returns the mask and the
    nucleus centre (cell coordinates) per image.
    """
    c = params["continuous"]
    half_thickness = c[:, P["nucleus_size"]] * radius
    half_length = c[:, P["nucleus_length"]] * radius
    curvature = np.maximum(c[:, P["nucleus_curvature"]], 0.05) / radius
    offset = c[:, P["nucleus_offset"]] * radius
    # keep the nucleus inside the cell
    offset = np.minimum(offset, np.maximum(radius - half_thickness - 0.5 * half_length, 0.0))
    anchor = np.stack(
        [offset * np.cos(params["offset_angle"]), offset * np.sin(params["offset_angle"])],
        axis=-1,
    )
    arc_radius = 1.0 / curvature
    half_angle = np.maximum(half_length * curvature, 1e-6)
    beta = params["nucleus_angle"]
    centre_u = anchor[:, 0] - arc_radius * np.cos(beta)
    centre_v = anchor[:, 1] - arc_radius * np.sin(beta)

    rel_u = u - _column(centre_u)
    rel_v = v - _column(centre_v)
    angle = np.arctan2(rel_v, rel_u) - _column(beta)
    angle = (angle + _FLOAT(np.pi)) % _FLOAT(2 * np.pi) - _FLOAT(np.pi)
    s = np.clip(angle / _column(half_angle), _FLOAT(-1), _FLOAT(1))
    point_angle = _column(beta) + s * _column(half_angle)
    distance = np.hypot(
        rel_u - _column(arc_radius) * np.cos(point_angle),
        rel_v - _column(arc_radius) * np.sin(point_angle),
    )

    # thickness along the arc: lobes at evenly spaced positions, filaments between them
    strength = c[:, P["lobe_strength"]]
    thickness = np.broadcast_to(_column(half_thickness), distance.shape).copy()
    lobed = np.flatnonzero(strength > 0.01)
    if lobed.size:
        n_lobes = params["n_lobes"][lobed]
        position = 0.5 * (s[lobed] + 1)
        spacing = 1.0 / np.maximum(n_lobes - 1, 1)
        width = 0.3 * spacing
        profile = np.zeros_like(position)
        for k in range(int(n_lobes.max())):
            active = k < n_lobes
            bump = np.exp(-(((position - _column(k * spacing)) / _column(width)) ** 2))
            bump *= _column(params["lobe_sizes"][lobed, k] * active)
            np.maximum(profile, bump, out=profile)
        lobe_strength = _column(strength[lobed])
        thickness[lobed] *= (1 - lobe_strength) + lobe_strength * profile
    # irregular outline (indented, angular blast nuclei): harmonics 2, 3 and 5 of the angle
    # around the nucleus' anchor
    irregular = np.flatnonzero(c[:, P["nucleus_roughness"]] > 0.005)
    if irregular.size:
        du = u[irregular] - _column(anchor[irregular, 0])
        dv = v[irregular] - _column(anchor[irregular, 1])
        rho = np.sqrt(du * du + dv * dv) + _FLOAT(1e-6)
        cos_1, sin_1 = du / rho, dv / rho
        cos_2, sin_2 = cos_1 * cos_1 - sin_1 * sin_1, 2 * cos_1 * sin_1
        cos_3, sin_3 = cos_2 * cos_1 - sin_2 * sin_1, sin_2 * cos_1 + cos_2 * sin_1
        cos_5, sin_5 = cos_3 * cos_2 - sin_3 * sin_2, sin_3 * cos_2 + cos_3 * sin_2
        wave = params["nucleus_wave"][irregular]
        # harmonic 5 at half the amplitude: small bumps on the large-scale shape
        outline = (
            _column(wave[:, 0]) * cos_2
            + _column(wave[:, 1]) * sin_2
            + _column(wave[:, 2]) * cos_3
            + _column(wave[:, 3]) * sin_3
            + _column(0.5 * wave[:, 4]) * cos_5
            + _column(0.5 * wave[:, 5]) * sin_5
        )
        thickness[irregular] *= 1 + _column(c[irregular, P["nucleus_roughness"]]) * outline
    np.maximum(thickness, _column(0.12 * half_thickness), out=thickness)
    edge = _column(np.maximum(c[:, P["nucleus_edge"]], 1.0) * pixel)
    return _soft(distance - thickness, edge), anchor


def _render_spots(
    count: np.ndarray,
    centres: np.ndarray,
    radii: np.ndarray,
    u: np.ndarray,
    v: np.ndarray,
    pixel: float,
) -> np.ndarray:
    """Union of up to ``centres.shape[1]`` small discs (nucleoli, vacuoles) per image."""
    out = np.zeros_like(u)
    for k in range(int(count.max(initial=0))):
        active = np.flatnonzero(k < count)
        distance = np.hypot(
            u[active] - _column(centres[active, k, 0]), v[active] - _column(centres[active, k, 1])
        )
        out[active] = np.maximum(out[active], _soft(distance - _column(radii[active, k]), pixel))
    return out


def _render_red_cells(
    params: dict[str, np.ndarray], x: np.ndarray, y: np.ndarray, pixel: float
) -> np.ndarray:
    """Stain density of the red cells: discs with a paler centre, around the white cell.

    Each red cell is computed only on a square window of pixels around it (the same one
    size for every image of the chunk), added into a canvas padded by that window, so
    that a cell partly outside the image needs no special case.
    """
    count = params["n_red_cells"]
    zoom = params["zoom"]
    n, size = count.shape[0], x.shape[-1]
    active = np.arange(count.max()) < count[:, None]
    radius = params["red_cell_radius"][:, : active.shape[1]] * zoom[:, None]
    # the window covers the cell's outer ellipse plus its one-pixel soft edge
    reach = np.max(
        np.where(active, np.abs(radius) * params["red_cell_aspect"][:, : active.shape[1]], 0.0)
    )
    window = int(np.ceil(2 * reach / pixel)) + 3
    canvas = np.zeros((n, size + 2 * window, size + 2 * window), dtype=_FLOAT)
    images = np.arange(n)[:, None, None]
    offsets = np.arange(window)
    for k in range(int(count.max())):
        # every image takes part (with weight 0 past its count): one scatter per cell
        weight = _column(params["red_cell_density"][:, k] * (k < count))
        r = _column(radius[:, k])
        cos_a = np.cos(params["red_cell_angle"][:, k])
        sin_a = np.sin(params["red_cell_angle"][:, k])
        stretch = 1.0 / params["red_cell_aspect"][:, k]
        centre_x = params["red_cell_position"][:, k, 0]
        centre_y = params["red_cell_position"][:, k, 1]
        # canvas index of the window's first pixel (image pixel j is canvas j + window)
        first_column = np.floor((centre_x + 1.0) / pixel - 0.5).astype(np.int64) - window // 2
        first_row = np.floor((centre_y + 1.0) / pixel - 0.5).astype(np.int64) - window // 2
        columns = np.clip(first_column + window, 0, size + window)[:, None] + offsets
        rows = np.clip(first_row + window, 0, size + window)[:, None] + offsets
        # pixel centres exactly as on the full grid: (j + 0.5) * pixel - 1
        x_window = ((columns - window).astype(_FLOAT) + 0.5) * pixel - 1.0
        y_window = ((rows - window).astype(_FLOAT) + 0.5) * pixel - 1.0
        # rotated coordinates as sums of a row and a column term (separable, cheap)
        x_k = (x_window - centre_x[:, None])[:, None, :]
        y_k = (y_window - centre_y[:, None])[:, :, None]
        du = x_k * _column(cos_a * stretch) + y_k * _column(sin_a * stretch)
        dv = y_k * _column(cos_a) - x_k * _column(sin_a)
        rho2 = du * du + dv * dv
        # biconcave disc: thinner, hence paler, in the middle; overlapping discs add up
        t = rho2 / (_FLOAT(0.49) * r * r)
        profile = 1 - RED_CELL_PALLOR * np.exp(-(t * t))
        canvas[images, rows[:, :, None], columns[:, None, :]] += (
            _soft(np.sqrt(rho2) - r, pixel) * profile * weight
        )
    density = canvas[:, window : window + size, window : window + size]
    # where red cells overlap they are darker, but never as dark as two full discs
    return np.minimum(density, _FLOAT(RED_CELL_OVERLAP_MAX))
