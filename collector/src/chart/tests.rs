//! Unit tests of the charts: escaping, forbidden markup, bounds, tables.

use super::*;

const HOSTILE: &str = "<script>alert(\"x\")</script>&\u{7}\u{202e}";

/// What no chart may contain, and every element closed.
fn check(out: &str) {
    for bad in [
        "style=", "href", "http", "<script", "\u{7}", "\u{202e}", "NaN", "\"inf", "\"-inf",
    ] {
        assert!(!out.contains(bad), "{bad:?} in {out}");
    }
    for tag in [
        "svg", "g", "rect", "path", "text", "line", "title", "desc", "polyline", "circle", "table",
        "tr", "td", "th",
    ] {
        let open =
            out.matches(&format!("<{tag} ")).count() + out.matches(&format!("<{tag}>")).count();
        assert_eq!(
            open,
            out.matches(&format!("</{tag}>")).count(),
            "<{tag}> unbalanced in {out}"
        );
    }
}

fn days(n: usize) -> Vec<String> {
    (0..n)
        .map(|i| format!("2026-11-{:02}", i % 30 + 1))
        .collect()
}

fn sev(n: usize, f: impl Fn(usize, usize) -> u64) -> Vec<Series> {
    ["critical", "high", "medium", "low"]
        .iter()
        .enumerate()
        .map(|(k, c)| Series {
            name: c.to_string(),
            class: c,
            values: (0..n).map(|i| f(k, i)).collect(),
        })
        .collect()
}

/// The numbers of the table's `<td>` cells, in order.
fn cells(out: &str) -> Vec<u128> {
    out.split("<td>")
        .skip(1)
        .filter_map(|c| c.split("</td>").next()?.parse().ok())
        .collect()
}

#[test]
fn nice_ticks_are_1_2_5_steps_covering_the_maximum() {
    assert_eq!(nice_ticks(0), [0, 1, 2]);
    assert_eq!(nice_ticks(1), [0, 1, 2]);
    assert_eq!(nice_ticks(5), [0, 2, 4, 6]);
    assert_eq!(nice_ticks(9), [0, 5, 10]);
    assert_eq!(nice_ticks(11), [0, 5, 10, 15]);
    assert_eq!(nice_ticks(37), [0, 10, 20, 30, 40]);
    assert_eq!(
        nice_ticks(1_000_000_000_000),
        [0, 500_000_000_000, 1_000_000_000_000]
    );
    for max in (0..2000).chain([u128::from(u64::MAX), u128::from(u64::MAX) * 4, u128::MAX]) {
        let t = nice_ticks(max);
        assert!((3..=5).contains(&t.len()), "{max}: {t:?}");
        assert!(*t.last().unwrap() >= max.min(u128::MAX - 1), "{max}: {t:?}");
        let mut step = t[1];
        while step >= 10 && step % 10 == 0 {
            step /= 10;
        }
        assert!(
            [1, 2, 5].contains(&step) || max > u128::MAX / 10,
            "{max}: {t:?}"
        );
    }
}

#[test]
fn numbers_and_labels_are_formatted_and_cut_by_characters() {
    assert_eq!(group(1_234_567), "1,234,567");
    assert_eq!(group(999), "999");
    assert_eq!(
        (compact(9_999), compact(15_000), compact(1_000_000_000_000)),
        ("9999".into(), "15k".into(), "1T".into())
    );
    assert_eq!(compact(999_999), "1M");
    assert_eq!(
        (px(-0.01), px(2.0), px(2.25)),
        ("0".into(), "2".into(), "2.3".into())
    );
    let long = "é".repeat(1000);
    let c = clean(&long, 24);
    assert_eq!(c.chars().count(), 24);
    assert!(c.ends_with('…') && c.starts_with("éé"));
    assert_eq!(clean("short", 24), "short");
    assert_eq!(clean("a\u{7}b", 24), "a\\x07b");
    assert_eq!(safe_id("1 <x>\""), "chart-1--x--");
}

#[test]
fn hostile_labels_are_escaped_and_cut_everywhere() {
    let long = format!("{HOSTILE}{}", "y".repeat(5000));
    let labels = vec![HOSTILE.to_string(), long.clone()];
    let series = vec![Series {
        name: long.clone(),
        class: "critical",
        values: vec![1, 2],
    }];
    let outs = [
        stacked_columns(HOSTILE, HOSTILE, &labels, &series, 800, 300).into_string(),
        hbars(
            HOSTILE,
            HOSTILE,
            &[(HOSTILE.into(), 3), (long.clone(), 4)],
            600,
        )
        .into_string(),
        distribution(HOSTILE, HOSTILE, &[(long.clone(), [1, 2, 3, 4, 5])], 2, 600).into_string(),
    ];
    for out in &outs {
        check(out);
        assert!(
            out.contains("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&amp;\\x07\\u{202e}"),
            "{out}"
        );
        assert!(
            !out.contains(&"y".repeat(TITLE_CHARS)),
            "a label is not cut: {out}"
        );
        assert!(out.contains('…'), "{out}");
        assert!(out.len() < 20_000, "{}", out.len());
    }
}

#[test]
fn a_month_of_four_severities_is_small_and_its_table_holds_the_input() {
    let s = sev(30, |k, i| ((i * 7 + k * 13) % 23) as u64);
    let out = stacked_columns(
        "findings",
        "Failing findings by severity",
        &days(30),
        &s,
        900,
        320,
    )
    .into_string();
    check(&out);
    assert!(out.len() < 20_000, "{} bytes", out.len());
    assert!(
        out.contains("role=\"img\" aria-labelledby=\"findings-t findings-d\""),
        "{out}"
    );
    assert!(
        out.contains("<desc id=\"findings-d\">30 columns from 2026-11-01 to 2026-11-30"),
        "{out}"
    );
    let mut want = Vec::new();
    for i in 0..30 {
        let col: Vec<u128> = s.iter().map(|x| u128::from(x.values[i])).collect();
        want.extend(&col);
        want.push(col.iter().sum());
    }
    assert_eq!(cells(&out), want);
    // Every nonzero value is one segment; labels thinned but the latest shown.
    let nonzero = s.iter().flat_map(|x| &x.values).filter(|&&v| v > 0).count();
    let drawn = out
        .split(" d=\"")
        .skip(1)
        .map(|d| d.split('"').next().unwrap_or("").matches('M').count());
    assert_eq!(drawn.sum::<usize>(), nonzero, "{out}");
    assert_eq!(out.matches("<rect x=").count(), 30, "hover columns");
    assert!(out.contains(">2026-11-30<"), "{out}");
    let narrow = stacked_columns("n", "t", &days(30), &s, 240, 160).into_string();
    let xlabels = narrow
        .split("<g text-anchor=\"middle\">")
        .nth(1)
        .unwrap_or("");
    let xlabels = xlabels.split("</g>").next().unwrap_or("");
    assert!(
        (3..8).contains(&xlabels.matches("<text").count()),
        "{xlabels}"
    );
    assert!(
        xlabels.starts_with("<text x=\"207.5\" y=\"153\">2026-11-30<"),
        "{xlabels}"
    );
}

#[test]
fn huge_values_and_many_columns_stay_bounded() {
    let s = sev(1000, |_, _| u64::MAX);
    let out = stacked_columns("big", "big", &days(1000), &s, 900, 320).into_string();
    check(&out);
    assert!(out.contains("latest 120 of 1,000 columns"), "{out}");
    assert_eq!(cells(&out).len(), MAX_COLUMNS * 5);
    assert!(cells(&out).contains(&(u128::from(u64::MAX) * 4)));
    let t = sev(30, |_, _| 1_000_000_000_000);
    let out = stacked_columns("t", "t", &days(30), &t, 900, 320).into_string();
    assert!(
        out.contains(">4T<") && out.contains(">4000000000000<"),
        "{out}"
    );
    let many: Vec<Series> = (0..50)
        .map(|_| Series {
            name: "s".into(),
            class: "s1",
            values: vec![1],
        })
        .collect();
    let out = stacked_columns("m", "m", &days(1), &many, 240, 160).into_string();
    check(&out);
    assert!(out.contains("38 more series not shown"), "{out}");
}

#[test]
fn empty_and_zero_data_say_so() {
    let s = sev(3, |_, _| 0);
    for out in [
        stacked_columns("e", "e", &[], &s, 600, 200),
        stacked_columns("e", "e", &days(3), &[], 600, 200),
        hbars("e", "e", &[], 0),
        distribution("e", "e", &[], 2, 600),
    ] {
        let out = out.into_string();
        check(&out);
        assert!(out.contains(">no data<"), "{out}");
    }
    let out = stacked_columns("z", "z", &days(3), &s, 0, 0).into_string();
    check(&out);
    assert!(out.contains("all values are 0"), "{out}");
    let out = hbars("z", "z", &[("a".into(), 0)], 600).into_string();
    check(&out);
    assert!(out.contains("width=\"0\""), "{out}");
    let out = distribution("z", "z", &[("FR1".into(), [0; 5])], 2, 600).into_string();
    check(&out);
    assert!(out.contains(">no devices<"), "{out}");
    assert_eq!(
        sparkline(&[], 80, 16).into_string(),
        "<span class=\"spark-empty\">no data</span>"
    );
}

#[test]
fn hbars_keeps_the_first_rows_and_sums_the_rest() {
    let rows: Vec<(String, u64)> = (0..10_000).map(|i| (format!("site-{i}"), i)).collect();
    let out = hbars("sites", "Devices by site", &rows, 700).into_string();
    check(&out);
    assert!(out.len() < 12_000, "{} bytes", out.len());
    let rest: u128 = (20..10_000).sum();
    assert!(
        out.contains(&format!("+9,980 more, together {}", group(rest))),
        "{out}"
    );
    let mut want: Vec<u128> = (0..20).collect();
    want.push(rest);
    assert_eq!(cells(&out), want);
    assert_eq!(out.matches("class=\"bar\"").count(), 20);
    let small = hbars("s", "s", &[("a".into(), 10), ("b".into(), 5)], 600).into_string();
    assert!(
        small.contains(">10<") && small.contains(">5<") && small.contains("largest: a with 10"),
        "{small}"
    );
}

#[test]
fn distribution_marks_what_is_below_the_target() {
    let groups: Vec<(String, [u64; 5])> = vec![
        ("FR1".into(), [1, 2, 3, 4, 0]),
        ("FR2".into(), [0, 0, 5, 5, 10]),
        ("FR3".into(), [u64::MAX, 0, 0, 0, 1]),
    ];
    let out = distribution("sl", "SL ceilings", &groups, 2, 700).into_string();
    check(&out);
    assert!(
        out.contains(">3 of 10 below<") && out.contains(">0 of 20 below<"),
        "{out}"
    );
    assert!(
        out.contains("class=\"b1\"")
            && out.contains("class=\"m2\"")
            && !out.contains("class=\"b2\""),
        "{out}"
    );
    assert_eq!(out.matches("class=\"mark\" x=").count(), 3);
    assert!(out.contains("FR1 SL1: 2 of 10 devices (20 %)"), "{out}");
    let mut want = Vec::new();
    for (_, c) in &groups {
        let c: Vec<u128> = c.iter().map(|&v| u128::from(v)).collect();
        want.extend(&c);
        want.push(c.iter().sum());
        want.push(c[..2].iter().sum());
    }
    assert_eq!(cells(&out), want);
    let many: Vec<(String, [u64; 5])> = (0..5000).map(|i| (format!("g{i}"), [1; 5])).collect();
    let out = distribution("d", "d", &many, 9, 600).into_string();
    check(&out);
    assert!(
        out.len() < 20_000 && out.contains("+4980 more groups") && out.contains(">5 of 5 below<"),
        "{out}"
    );
}

#[test]
fn sparkline_is_bounded_and_named() {
    let v: Vec<u64> = (0..100_000).map(|i| i / 1000).collect();
    let out = sparkline(&v, 100, 20).into_string();
    check(&out);
    assert!(out.len() < 2_000, "{}", out.len());
    // One point per two pixels, rising from the bottom to the top.
    assert!(
        out.contains("points=\"2,17.8 ") && out.contains(" 98,2\""),
        "{out}"
    );
    let points = out
        .split("points=\"")
        .nth(1)
        .and_then(|p| p.split('"').next());
    assert_eq!(points.map(|p| p.split(' ').count()), Some(50), "{out}");
    assert!(
        out.contains("aria-label=\"trend of 100000 values: min 0, max 99, last 99\""),
        "{out}"
    );
    let one = sparkline(&[7], 100, 20).into_string();
    check(&one);
    assert!(one.contains("cy=\"10\""), "{one}");
}
