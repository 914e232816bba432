"""A chair tile as HTML: status by colour *and* label *and* (for an unacknowledged critical)
motion, never colour alone; a small SBP/HR sparkline as an SVG image (no chart per tile, so 32
tiles refresh every second cheaply).

Tiles are drawn with ``st.html``, which renders no Markdown; every text in them is escaped.
"""

from __future__ import annotations

import base64
from html import escape

from dashboard.overview_model import Tile
from dashboard.tiles import Shown

CSS = """
<style>
.cs-tile{border:3px solid #cfd8dc;border-radius:10px;padding:10px 12px;margin-bottom:6px;
  background:#fff;font-family:sans-serif;overflow:hidden}
.cs-tile .cs-spark{max-width:100%;display:block}
.cs-critical{border-color:#c62828;background:#ffebee}
.cs-warning{border-color:#ef6c00;background:#fff3e0}
.cs-advisory{border-color:#f9a825;background:#fffde7}
.cs-technical{border-color:#1565c0;background:#e3f2fd}
.cs-normal{border-color:#2e7d32}
.cs-nodata{border-color:#37474f;border-style:dashed;
  background:repeating-linear-gradient(135deg,#eceff1 0 12px,#cfd8dc 12px 24px)}
.cs-flash{animation:cs-flash 1s steps(2,start) infinite}
@keyframes cs-flash{0%{background:#ffebee}50%{background:#ef9a9a}100%{background:#ffebee}}
.cs-head{display:flex;justify-content:space-between;align-items:center;gap:8px;flex-wrap:wrap}
.cs-name{font-size:1.25rem;font-weight:700}
.cs-label{font-weight:800;padding:2px 8px;border-radius:6px;color:#fff;background:#2e7d32}
.cs-critical .cs-label{background:#c62828}.cs-warning .cs-label{background:#ef6c00}
.cs-advisory .cs-label{background:#f9a825;color:#000}.cs-technical .cs-label{background:#1565c0}
.cs-nodata .cs-label{background:#37474f}
.cs-sub,.cs-age{color:#546e7a;font-size:.8rem}
.cs-reason{font-weight:600;margin:4px 0}
.cs-values{display:flex;gap:16px;margin:4px 0;flex-wrap:wrap}
/* A tablet in portrait: two tiles a row instead of squeezing four or six. */
@media (max-width: 1100px){
  [data-testid="stHorizontalBlock"]{flex-wrap:wrap}
  [data-testid="stColumn"]{min-width:calc(50% - 1rem)}
}
.cs-n{font-size:1.8rem;font-weight:700;line-height:1.1}
.cs-stale .cs-n{color:#90a4ae}
.cs-bp{font-size:.85rem}.cs-overdue{color:#c62828;font-weight:800}
</style>
"""

LABELS = {
    "critical": "CRITICAL",
    "warning": "WARNING",
    "advisory": "ADVISORY",
    "technical": "TECHNICAL",
    "normal": "NORMAL",
    "nodata": "NO CURRENT DATA",
}


def tile_html(tile: Tile) -> str:
    classes = f"cs-tile cs-{tile.status}" + (" cs-flash" if tile.flashing else "")
    label = tile.blind or LABELS[tile.status]
    label += " — NOT ACKNOWLEDGED" if tile.flashing else ""
    values = "".join(_value_html(name, shown) for name, shown in tile.values)
    bp = ""
    if tile.bp_check:
        overdue = " cs-overdue" if tile.bp_overdue else ""
        bp = f'<div class="cs-bp{overdue}">{escape(tile.bp_check)}</div>'
    if tile.scales:
        overdue = " cs-overdue" if tile.scales_overdue else ""
        bp += f'<div class="cs-bp{overdue}">{escape(tile.scales)}</div>'
    reason = ""
    if tile.status != "normal":
        reason = f'<div class="cs-reason">{escape(tile.headline)}</div>'
    return (
        f'<div class="{classes}" data-chair="{escape(tile.chair)}" data-status="{tile.status}">'
        f'<div class="cs-head"><span class="cs-name">{escape(tile.name)}</span>'
        f'<span class="cs-label">{label}</span></div>'
        f'<div class="cs-sub">{escape(tile.session)}</div>{reason}'
        f'<div class="cs-values">{values}</div>{bp}{sparkline_svg(tile.spark)}</div>'
    )


def _value_html(name: str, shown: Shown) -> str:
    stale = " cs-stale" if shown.stale else ""
    age = f"{shown.age} — not current" if shown.stale else shown.age
    return (
        f'<div class="cs-v{stale}"><div class="cs-age">{escape(name)}</div>'
        f'<div class="cs-n">{escape(shown.text)}</div>'
        f'<div class="cs-age">{escape(age)}</div></div>'
    )


def sparkline_svg(
    series: dict[str, list[tuple[int, float]]], width: int = 260, height: int = 40, most: int = 90
) -> str:
    """SBP (red) and HR (green) over (t_us, value) points, each scaled to its own range."""
    colours = {"sbp": "#c62828", "hr": "#2e7d32"}
    times = [t for values in series.values() for t, _ in values]
    if not times:
        return ""
    t0, span = min(times), max(1, max(times) - min(times))
    paths = []
    for param, values in series.items():
        values = values[:: max(1, len(values) // most)]  # a sparkline needs shape, not detail
        if len(values) < 2:
            continue
        low, high = min(v for _, v in values), max(v for _, v in values)
        rng = max(1.0, high - low)
        x = [(t - t0) / span * (width - 4) + 2 for t, _ in values]
        y = [height - 2 - (v - low) / rng * (height - 4) for _, v in values]
        coords = " ".join(f"{a:.1f},{b:.1f}" for a, b in zip(x, y, strict=True))
        stroke = f'stroke="{colours[param]}" stroke-width="1.5"'
        paths.append(f'<polyline fill="none" {stroke} points="{coords}"/>')
    label = "SBP (red) and HR (green), last 30 min"
    size = f'width="{width}" height="{height}"'
    svg = f'<svg xmlns="http://www.w3.org/2000/svg" {size}>{"".join(paths)}</svg>'
    # As an image: the page's HTML sanitiser drops inline SVG, and an image cannot run anything.
    data = base64.b64encode(svg.encode()).decode()
    return f'<img class="cs-spark" {size} alt="{label}" src="data:image/svg+xml;base64,{data}">'
