//! `fieldattest rules`: the rule catalog.

use super::flags;
use super::{print, usage_err, Command, Exit, Opts};
use fieldattest_scan::report;

pub const COMMAND: Command = Command {
    name: "rules",
    bit: flags::RULES,
    usage: "fieldattest rules [--format text|json]",
    about: "Print the rule catalog with its IEC 62443-4-2 mappings.",
    operands: &[],
    run,
};

fn run(o: Opts) -> Exit {
    let json = match o.format.as_deref() {
        None | Some("text") => false,
        Some("json") => true,
        Some(_) => return usage_err("--format: text or json"),
    };
    if json {
        // The catalog document the collector reads (protocol/catalog/).
        return print(fieldattest_scan::rules::catalog_document().to_json());
    }
    let cat = fieldattest_scan::rules::catalog();
    let mut s = format!("fieldattest rule catalog ({} rules)\n", cat.len());
    for r in &cat {
        let m = &r.meta;
        let reqs: Vec<String> = m
            .reqs
            .iter()
            .map(|(q, sl)| format!("{q} (SL{sl})"))
            .collect();
        s.push_str(&format!(
            "{:<40} {:<8} {}  {}\n    {}\n    ref: {}\n",
            m.id,
            report::severity_name(m.severity),
            m.fr,
            reqs.join(", "),
            m.title,
            m.reference
        ));
    }
    print(s)
}
