//! Server-side SVG charts for the operator console (maud; pure: data in,
//! markup out). The console runs under a strict CSP — no scripts, no `style=`
//! attributes, no external references — so a chart is inline `<svg>` drawn
//! with presentation attributes and classes styled by [`CHART_CSS`].
//! Labels come from devices and operators: each passes `fleet::sanitize`
//! (control and bidi characters made visible), is cut to a bounded number of
//! characters for display and shown whole (up to `TITLE_CHARS`) in an SVG
//! `<title>` on hover. Every chart is a `<figure>`: the `<svg role="img">`
//! with its `<title>` and a `<desc>` summarising the data, then the same
//! numbers as an HTML table in a `<details>` element. Output is bounded
//! whatever the input: at most `MAX_COLUMNS` columns, `MAX_SERIES` series
//! and `MAX_ROWS` bars, the rest summed and named.

use maud::{html, Markup};

/// One stacked series: its name (legend), its class in [`CHART_CSS`]
/// (`critical`, `high`, `medium`, `low`, `info`, `ok`, `below`, `s1`..`s6`)
/// and one value per x label (a missing value counts as 0, extra ones are ignored).
pub struct Series {
    pub name: String,
    pub class: &'static str,
    pub values: Vec<u64>,
}

/// The classes the charts use, for the page's constant style sheet. Colours
/// are readable on white and tell apart under colour-vision deficiency by
/// lightness (severities, SL ramps) or by the blue/orange contrast.
pub const CHART_CSS: &str = ".chart{margin:1em 0}.chart svg{display:block;max-width:100%;height:auto;overflow:visible}\
.chart figcaption{font-weight:bold;margin:0 0 .4em}.chart .chart-note{font-weight:normal;color:#555}\
.chart text{font:11px sans-serif;fill:#333}.chart .note{fill:#555;font-style:italic}\
.chart .axis{stroke:#666}.chart .grid line{stroke:#e3e3e3}.chart .seg{stroke:#fff;stroke-width:.5}\
.chart .sw{stroke:#0006;stroke-width:.5}.chart .hit rect{fill:transparent}.chart .hit rect:hover{fill:#0000000f}\
.chart .bar{fill:#4477aa}.chart .val{fill:#222}\
.chart .critical{fill:#7f0000}.chart .high{fill:#d7301f}.chart .medium{fill:#fc8d59}.chart .low{fill:#fdcc8a}.chart .info{fill:#9ecae1}\
.chart .ok{fill:#2166ac}.chart .below{fill:#e66101}\
.chart .s1{fill:#0072b2}.chart .s2{fill:#e69f00}.chart .s3{fill:#009e73}.chart .s4{fill:#cc79a7}.chart .s5{fill:#56b4e9}.chart .s6{fill:#d55e00}\
.chart .b0{fill:#7f3b08}.chart .b1{fill:#b35806}.chart .b2{fill:#e08214}.chart .b3{fill:#fdb863}.chart .b4{fill:#fee0b6}\
.chart .m0{fill:#d1e5f0}.chart .m1{fill:#92c5de}.chart .m2{fill:#4393c3}.chart .m3{fill:#2166ac}.chart .m4{fill:#053061}\
.chart .mark{fill:#111}.chart .warn{fill:#a63603;font-weight:bold}.chart .good{fill:#2166ac}\
.chart-data summary{cursor:pointer;color:#333}.chart-data td{text-align:right}.chart-data th[scope=row]{text-align:left;font-weight:normal}\
.spark{vertical-align:middle}.spark polyline{fill:none;stroke:#2166ac;stroke-width:1.5}.spark circle{fill:#2166ac}";

/// Columns drawn by `stacked_columns` (the latest ones).
const MAX_COLUMNS: usize = 120;
/// Series drawn by `stacked_columns`.
const MAX_SERIES: usize = 12;
/// Bars drawn by `hbars` and `distribution`.
const MAX_ROWS: usize = 20;
/// Visible characters of a label.
const LABEL_CHARS: usize = 24;
/// Characters of a label in titles, descriptions and tables.
const TITLE_CHARS: usize = 200;
/// Estimated advance of one character at the charts' 11 px font.
const CHAR_W: f64 = 6.5;
/// SL segment classes below and at or above the target.
const SL_BELOW: [&str; 5] = ["b0", "b1", "b2", "b3", "b4"];
const SL_MEET: [&str; 5] = ["m0", "m1", "m2", "m3", "m4"];

/// `s` made printable and cut to `max` characters (never inside one); an
/// ellipsis marks the cut.
fn clean(s: &str, max: usize) -> String {
    let head: String = s.chars().take(max + 1).collect();
    let s = crate::fleet::sanitize(&head);
    if s.chars().nth(max).is_none() {
        return s;
    }
    let mut out: String = s.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// An element id: ASCII letters, digits, `-` and `_`, starting with a letter.
fn safe_id(s: &str) -> String {
    let id: String = s
        .chars()
        .take(64)
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' {
                c
            } else {
                '-'
            }
        })
        .collect();
    if id.starts_with(|c: char| c.is_ascii_alphabetic()) {
        id
    } else {
        format!("chart-{id}")
    }
}

/// A coordinate with at most one decimal.
fn px(x: f64) -> String {
    let r = (x * 10.0).round() / 10.0;
    if !r.is_finite() || r == 0.0 {
        "0".into()
    } else if r.fract() == 0.0 {
        format!("{r:.0}")
    } else {
        format!("{r:.1}")
    }
}

/// An exact number with thousands separators.
fn group(v: u128) -> String {
    let d = v.to_string();
    let mut out = String::with_capacity(d.len() + d.len() / 3);
    for (i, c) in d.chars().enumerate() {
        if i > 0 && (d.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A short number for axis ticks: exact below 10,000, else k, M, G, T, P, E.
fn compact(v: u128) -> String {
    const UNITS: [&str; 7] = ["", "k", "M", "G", "T", "P", "E"];
    if v < 10_000 {
        return v.to_string();
    }
    let (mut x, mut u) = (v as f64, 0);
    while x >= 999.95 && u < UNITS.len() - 1 {
        x /= 1000.0;
        u += 1;
    }
    let s = format!("{x:.1}");
    format!("{}{}", s.strip_suffix(".0").unwrap_or(&s), UNITS[u])
}

/// Axis ticks from 0: a step of 1, 2 or 5 × 10^k, 3 to 5 ticks, the last at
/// or above `max`.
fn nice_ticks(max: u128) -> Vec<u128> {
    let max = max.max(1);
    let mut p: u128 = 1;
    loop {
        for m in [1, 2, 5] {
            let step = p.saturating_mul(m);
            let n = max.div_ceil(step);
            if n <= 4 {
                return (0..=n.max(2)).map(|i| i.saturating_mul(step)).collect();
            }
        }
        p = p.saturating_mul(10);
    }
}

/// Estimated width of `s` in pixels (wide characters count twice).
fn text_w(s: &str) -> f64 {
    s.chars()
        .map(|c| if c > '\u{10ff}' { 2.0 } else { 1.0 })
        .sum::<f64>()
        * CHAR_W
}

fn widest<'a>(texts: impl Iterator<Item = &'a String>) -> f64 {
    texts.map(|s| text_w(s)).fold(0.0, f64::max)
}

/// The figure around a chart: caption, `<svg role="img">` with title and
/// description, and the data table in a `<details>` element.
fn frame(
    id: &str,
    title: &str,
    desc: &str,
    size: (f64, f64),
    note: &str,
    body: Markup,
    table: Markup,
) -> Markup {
    let id = safe_id(id);
    let title = clean(title, TITLE_CHARS);
    let (w, h) = (px(size.0), px(size.1));
    html! {
        figure class="chart" id=(id) {
            figcaption { (title) @if !note.is_empty() { " " span class="chart-note" { "(" (note) ")" } } }
            svg role="img" aria-labelledby={ (id) "-t " (id) "-d" } width=(w) height=(h) viewBox={ "0 0 " (w) " " (h) } {
                title id={ (id) "-t" } { (title) }
                desc id={ (id) "-d" } { (desc) }
                (body)
            }
            details class="chart-data" {
                summary { "Data table" }
                table { (table) }
            }
        }
    }
}

/// A chart without data: the frame with a "no data" text.
fn no_data(id: &str, title: &str, w: f64) -> Markup {
    let body =
        html! { text class="note" x=(px(w / 2.0)) y="24" text-anchor="middle" { "no data" } };
    let table = html! { tr { td { "no data" } } };
    frame(id, title, "No data.", (w, 40.0), "", body, table)
}

/// Legend items (text, class, swatch width) in rows across `x0..w`; its
/// markup and height.
fn legend(items: &[(String, &str, f64)], x0: f64, w: f64) -> (Markup, f64) {
    let (mut x, mut y, mut at) = (x0, 0.0, Vec::with_capacity(items.len()));
    for (name, _, sw) in items {
        let iw = sw + 18.0 + text_w(name);
        if x > x0 && x + iw > w {
            (x, y) = (x0, y + 16.0);
        }
        at.push((x, y));
        x += iw;
    }
    let m = html! {
        g class="legend" {
            @for ((name, class, sw), (x, y)) in items.iter().zip(&at) {
                rect class={ "sw " (class) } x=(px(*x)) y=(px(y + 2.0)) width=(px(*sw)) height="10" {}
                text x=(px(x + sw + 4.0)) y=(px(y + 11.0)) { (name) }
            }
        }
    };
    (m, y + 16.0)
}

/// A title child when the visible text was cut.
fn full_title(shown: &str, full: &str) -> Markup {
    html! { @if shown != full { title { (full) } } }
}

/// Stacked columns, one per x label (e.g. failing findings by severity per
/// day), with a Y axis of nice ticks, thinned x labels and a legend. More than
/// `MAX_COLUMNS` labels: the latest are drawn and the figure says so.
pub fn stacked_columns(
    id: &str,
    title: &str,
    x_labels: &[String],
    series: &[Series],
    width: u32,
    height: u32,
) -> Markup {
    let w = f64::from(width.clamp(240, 4000));
    let skip = x_labels.len().saturating_sub(MAX_COLUMNS);
    let labels = &x_labels[skip..];
    let hidden_series = series.len().saturating_sub(MAX_SERIES);
    let series = &series[..series.len() - hidden_series];
    if labels.is_empty() || series.is_empty() {
        return no_data(id, title, w);
    }
    let n = labels.len();
    let v = |s: &Series, i: usize| u128::from(s.values.get(skip + i).copied().unwrap_or(0));
    let totals: Vec<u128> = (0..n)
        .map(|i| series.iter().map(|s| v(s, i)).sum())
        .collect();
    let max = totals.iter().copied().max().unwrap_or(0);
    let ticks = nice_ticks(max);
    let top_v = ticks.last().copied().unwrap_or(1).max(1) as f64;
    let tick_text: Vec<String> = ticks.iter().map(|t| compact(*t)).collect();
    let names: Vec<(String, &str, f64)> = series
        .iter()
        .map(|s| (clean(&s.name, LABEL_CHARS), s.class, 10.0))
        .collect();
    let left = widest(tick_text.iter()) + 10.0;
    let right = w - 8.0;
    let (leg, leg_h) = legend(&names, left, right);
    let top = leg_h + 10.0;
    let h = f64::from(height.clamp(160, 2000)).max(top + 100.0);
    let bottom = h - 22.0;
    let (ph, cw) = (bottom - top, (right - left).max(10.0) / n as f64);
    let bw = (cw * 0.72).max(0.5);
    let y = |v: u128| bottom - v as f64 / top_v * ph;
    let full: Vec<String> = labels.iter().map(|l| clean(l, TITLE_CHARS)).collect();
    let short: Vec<String> = labels.iter().map(|l| clean(l, LABEL_CHARS)).collect();
    let lw = widest(short.iter()) + 10.0;
    let step = ((lw / cw).ceil() as usize).max(1);
    let lx = |i: usize, s: &str| {
        let half = text_w(s) / 2.0;
        (left + cw * (i as f64 + 0.5)).clamp(half, (w - half).max(half))
    };
    // Per series, one path of its segments (a rect each, smaller as path data).
    let mut cum = vec![0u128; n];
    let paths: Vec<String> = series
        .iter()
        .map(|s| {
            let mut d = String::new();
            for (i, c) in cum.iter_mut().enumerate() {
                let b = *c + v(s, i);
                if b > *c {
                    let x = left + cw * (i as f64 + 0.5) - bw / 2.0;
                    let (bw, hh) = (px(bw), px(y(*c) - y(b)));
                    d.push_str(&format!("M{} {}h{bw}v{hh}h-{bw}z", px(x), px(y(b))));
                }
                *c = b;
            }
            d
        })
        .collect();
    let hover = |i: usize| {
        let parts: Vec<String> = names
            .iter()
            .zip(series)
            .map(|((name, ..), s)| format!("{name} {}", group(v(s, i))))
            .collect();
        format!("{}: {} ({})", full[i], group(totals[i]), parts.join(", "))
    };
    let body = html! {
        (leg)
        g class="grid" {
            @for t in &ticks { line x1=(px(left)) x2=(px(right)) y1=(px(y(*t))) y2=(px(y(*t))) {} }
        }
        g text-anchor="end" {
            @for (t, s) in ticks.iter().zip(&tick_text) { text x=(px(left - 5.0)) y=(px(y(*t) + 4.0)) { (s) } }
        }
        @for (s, d) in series.iter().zip(&paths) {
            @if !d.is_empty() { path class={ "seg " (s.class) } d=(d) {} }
        }
        line class="axis" x1=(px(left)) x2=(px(right)) y1=(px(bottom)) y2=(px(bottom)) {}
        @if max == 0 {
            text class="note" x=(px((left + right) / 2.0)) y=(px(top + ph / 2.0)) text-anchor="middle" { "all values are 0" }
        }
        g text-anchor="middle" {
            @for i in (0..n).rev().step_by(step) {
                text x=(px(lx(i, &short[i]))) y=(px(bottom + 15.0)) { (short[i]) (full_title(&short[i], &full[i])) }
            }
        }
        g class="hit" {
            @for i in 0..n {
                rect x=(px(left + cw * i as f64)) y=(px(top)) width=(px(cw)) height=(px(ph)) { title { (hover(i)) } }
            }
        }
    };
    let sums: Vec<String> = names
        .iter()
        .zip(series)
        .map(|((name, ..), s)| format!("{name} {}", group((0..n).map(|i| v(s, i)).sum())))
        .collect();
    let peak = (0..n).rev().max_by_key(|&i| totals[i]).unwrap_or(0);
    let mut desc = format!(
        "{n} columns from {} to {}; totals: {}; highest: {} with {}.",
        full[0],
        full[n - 1],
        sums.join(", "),
        full[peak],
        group(totals[peak])
    );
    let mut note = Vec::new();
    if skip > 0 {
        note.push(format!(
            "latest {n} of {} columns",
            group(x_labels.len() as u128)
        ));
    }
    if hidden_series > 0 {
        note.push(format!("{hidden_series} more series not shown"));
    }
    if !note.is_empty() {
        desc = format!("{desc} {}.", note.join("; "));
    }
    let table = html! {
        thead { tr { th {} @for (name, ..) in &names { th scope="col" { (name) } } th scope="col" { "total" } } }
        tbody {
            @for i in 0..n {
                tr { th scope="row" { (full[i]) } @for s in series { td { (v(s, i)) } } td { (totals[i]) } }
            }
        }
    };
    frame(id, title, &desc, (w, h), &note.join("; "), body, table)
}

/// The label column width for `labels` in a chart `w` wide (at most 40 % of
/// it) and the labels cut to fit.
fn label_column(labels: impl Iterator<Item = String>, w: f64) -> (f64, Vec<String>) {
    let chars = (((w * 0.4 - 10.0) / CHAR_W) as usize).clamp(4, LABEL_CHARS);
    let short: Vec<String> = labels.map(|l| clean(&l, chars)).collect();
    (widest(short.iter()) + 10.0, short)
}

/// Horizontal bars (e.g. devices by site or status), in the given order, the
/// number at the end of each bar. More than `MAX_ROWS` rows: the first are
/// drawn, the rest counted and summed in one line.
pub fn hbars(id: &str, title: &str, rows: &[(String, u64)], width: u32) -> Markup {
    let w = f64::from(width.clamp(240, 4000));
    if rows.is_empty() {
        return no_data(id, title, w);
    }
    let shown = &rows[..rows.len().min(MAX_ROWS)];
    let rest = &rows[shown.len()..];
    let rest_sum: u128 = rest.iter().map(|r| u128::from(r.1)).sum();
    let max = shown.iter().map(|r| r.1).max().unwrap_or(0);
    let (lw, short) = label_column(shown.iter().map(|r| r.0.clone()), w);
    let full: Vec<String> = shown.iter().map(|r| clean(&r.0, TITLE_CHARS)).collect();
    let vals: Vec<String> = shown.iter().map(|r| group(r.1.into())).collect();
    let bmax = (w - lw - widest(vals.iter()) - 12.0).max(10.0);
    let len = |v: u64| match v {
        0 => 0.0,
        v => (v as f64 / max as f64 * bmax).max(1.0),
    };
    let row_h = 22.0;
    let h = row_h * (shown.len() + usize::from(!rest.is_empty())) as f64 + 4.0;
    let more = format!(
        "+{} more, together {}",
        group(rest.len() as u128),
        group(rest_sum)
    );
    let body = html! {
        @for (i, (_, v)) in shown.iter().enumerate() {
            @let y = row_h * i as f64;
            g {
                title { (full[i]) ": " (vals[i]) }
                text x=(px(lw - 6.0)) y=(px(y + 15.0)) text-anchor="end" { (short[i]) }
                rect class="bar" x=(px(lw)) y=(px(y + 4.0)) width=(px(len(*v))) height="14" {}
                text class="val" x=(px(lw + len(*v) + 4.0)) y=(px(y + 15.0)) { (vals[i]) }
            }
        }
        @if !rest.is_empty() {
            text class="note" x=(px(lw)) y=(px(row_h * shown.len() as f64 + 15.0)) { (more) }
        }
    };
    let total: u128 = shown.iter().map(|r| u128::from(r.1)).sum::<u128>() + rest_sum;
    let peak = shown.iter().position(|r| r.1 == max).unwrap_or(0);
    let mut desc = format!(
        "{} bars, together {}; largest: {} with {}.",
        group(rows.len() as u128),
        group(total),
        full[peak],
        vals[peak]
    );
    if !rest.is_empty() {
        desc = format!("{desc} First {} drawn; {more}.", shown.len());
    }
    let table = html! {
        thead { tr { th {} th scope="col" { "value" } } }
        tbody {
            @for (i, (_, v)) in shown.iter().enumerate() { tr { th scope="row" { (full[i]) } td { (v) } } }
            @if !rest.is_empty() { tr { th scope="row" { "+" (rest.len()) " more" } td { (rest_sum) } } }
        }
    };
    frame(id, title, &desc, (w, h), "", body, table)
}

/// Per group (an FR), a 100 % stacked bar of devices at each SL ceiling
/// (SL0..SL4), the part below `target_sl` in the orange ramp and the rest in
/// the blue one, a marker at the target and the number of devices below it.
pub fn distribution(
    id: &str,
    title: &str,
    groups: &[(String, [u64; 5])],
    target_sl: u8,
    width: u32,
) -> Markup {
    let w = f64::from(width.clamp(240, 4000));
    if groups.is_empty() {
        return no_data(id, title, w);
    }
    let t = usize::from(target_sl);
    let class = |sl: usize| if sl < t { SL_BELOW[sl] } else { SL_MEET[sl] };
    let shown = &groups[..groups.len().min(MAX_ROWS)];
    let rest = &groups[shown.len()..];
    let sum = |g: &[u64], r: std::ops::Range<usize>| -> u128 {
        g[r].iter().map(|&c| u128::from(c)).sum()
    };
    let totals: Vec<u128> = shown.iter().map(|g| sum(&g.1, 0..5)).collect();
    let below: Vec<u128> = shown.iter().map(|g| sum(&g.1, 0..t.min(5))).collect();
    let says: Vec<String> = (0..shown.len())
        .map(|i| match totals[i] {
            0 => "no devices".to_string(),
            n => format!("{} of {} below", group(below[i]), group(n)),
        })
        .collect();
    let mut items: Vec<(String, &str, f64)> = (0..5)
        .map(|sl| (format!("SL{sl}"), class(sl), 10.0))
        .collect();
    items.push((format!("target SL{t}"), "mark", 3.0));
    let (leg, leg_h) = legend(&items, 0.0, w);
    let (lw, short) = label_column(shown.iter().map(|g| g.0.clone()), w);
    let full: Vec<String> = shown.iter().map(|g| clean(&g.0, TITLE_CHARS)).collect();
    let bw = (w - lw - widest(says.iter()) - 12.0).max(20.0);
    let (top, row_h) = (leg_h + 8.0, 26.0);
    let h = top + row_h * (shown.len() + usize::from(!rest.is_empty())) as f64 + 4.0;
    let at = |i: usize, upto: usize| {
        lw + sum(&shown[i].1, 0..upto) as f64 / totals[i].max(1) as f64 * bw
    };
    let segment = |i: usize, sl: usize| {
        let c = shown[i].1[sl];
        let pct = c as f64 * 100.0 / totals[i].max(1) as f64;
        format!(
            "{} SL{sl}: {} of {} devices ({pct:.0} %)",
            full[i],
            group(c.into()),
            group(totals[i])
        )
    };
    let body = html! {
        (leg)
        @for i in 0..shown.len() {
            @let y = top + row_h * i as f64;
            text x=(px(lw - 6.0)) y=(px(y + 16.0)) text-anchor="end" { (short[i]) (full_title(&short[i], &full[i])) }
            @if totals[i] > 0 {
                g class="seg" {
                    @for sl in (0..5).filter(|&sl| shown[i].1[sl] > 0) {
                        rect class=(class(sl)) x=(px(at(i, sl))) y=(px(y + 4.0)) width=(px(at(i, sl + 1) - at(i, sl))) height="16" {
                            title { (segment(i, sl)) }
                        }
                    }
                }
                rect class="mark" x=(px(at(i, t.min(5)) - 1.0)) y=(px(y + 1.0)) width="2" height="22" {}
                text class=(if below[i] > 0 { "warn" } else { "good" }) x=(px(lw + bw + 6.0)) y=(px(y + 16.0)) { (says[i]) }
            } @else {
                text class="note" x=(px(lw)) y=(px(y + 16.0)) { (says[i]) }
            }
        }
        @if !rest.is_empty() {
            text class="note" x=(px(lw)) y=(px(top + row_h * shown.len() as f64 + 16.0)) { "+" (rest.len()) " more groups (in the table)" }
        }
    };
    let per: Vec<String> = full
        .iter()
        .zip(&says)
        .map(|(f, s)| format!("{f}: {s}"))
        .collect();
    let desc = format!("Devices per SL ceiling, target SL{t}. {}.", per.join("; "));
    let rest_sl: Vec<u128> = (0..5)
        .map(|sl| rest.iter().map(|g| u128::from(g.1[sl])).sum())
        .collect();
    let table = html! {
        thead { tr { th {} @for sl in 0..5 { th scope="col" { "SL" (sl) } } th scope="col" { "total" } th scope="col" { "below SL" (t) } } }
        tbody {
            @for i in 0..shown.len() {
                tr { th scope="row" { (full[i]) } @for c in shown[i].1 { td { (c) } } td { (totals[i]) } td { (below[i]) } }
            }
            @if !rest.is_empty() {
                tr {
                    th scope="row" { "+" (rest.len()) " more" }
                    @for c in &rest_sl { td { (c) } }
                    td { (rest_sl.iter().sum::<u128>()) } td { (rest_sl[..t.min(5)].iter().sum::<u128>()) }
                }
            }
        }
    };
    frame(id, title, &desc, (w, h), "", body, table)
}

/// A small inline trend line (min to max of the values), the last value
/// marked; its summary as the accessible name. Long series are reduced to
/// the maximum of equal chunks, one point per two pixels.
pub fn sparkline(values: &[u64], width: u32, height: u32) -> Markup {
    let (w, h) = (
        f64::from(width.clamp(16, 1000)),
        f64::from(height.clamp(8, 200)),
    );
    let (Some(&lo), Some(&hi), Some(&last)) =
        (values.iter().min(), values.iter().max(), values.last())
    else {
        return html! { span class="spark-empty" { "no data" } };
    };
    let chunk = values.len().div_ceil((w / 2.0) as usize);
    let pts: Vec<u64> = values
        .chunks(chunk)
        .filter_map(|c| c.iter().max().copied())
        .collect();
    let dx = (w - 4.0) / (pts.len().max(2) - 1) as f64;
    let y = |v: u64| match hi - lo {
        0 => h / 2.0,
        span => h - 2.0 - (v - lo) as f64 / span as f64 * (h - 4.0),
    };
    let xy: Vec<String> = pts
        .iter()
        .enumerate()
        .map(|(i, &v)| format!("{},{}", px(2.0 + dx * i as f64), px(y(v))))
        .collect();
    let end = pts.len() - 1;
    let summary = format!(
        "trend of {} values: min {}, max {}, last {}",
        values.len(),
        group(lo.into()),
        group(hi.into()),
        group(last.into())
    );
    html! {
        svg class="spark" role="img" aria-label=(summary) width=(px(w)) height=(px(h)) viewBox={ "0 0 " (px(w)) " " (px(h)) } {
            title { (summary) }
            polyline points=(xy.join(" ")) {}
            circle cx=(px(2.0 + dx * end as f64)) cy=(px(y(pts[end]))) r="2" {}
        }
    }
}

#[cfg(test)]
mod tests;
