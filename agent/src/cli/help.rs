//! The help texts, generated from the option table ([`FLAGS`]) and the
//! subcommands' synopses ([`COMMANDS`]).

use super::flags::{FLAGS, HELP};
use super::{Command, COMMANDS, PROG};

const WIDTH: usize = 79;
/// The column of option help texts.
const COL: usize = 28;

/// Appends `text` word-wrapped to [`WIDTH`]; the cursor is at column `col`
/// of the current line, continuation lines are indented to it.
fn wrap(out: &mut String, col: usize, text: &str) {
    let mut x = col;
    for (i, w) in text.split_whitespace().enumerate() {
        let n = w.chars().count();
        if i > 0 && x + 1 + n > WIDTH {
            out.push('\n');
            out.extend(std::iter::repeat_n(' ', col));
            x = col;
        } else if i > 0 {
            out.push(' ');
            x += 1;
        }
        out.push_str(w);
        x += n;
    }
    out.push('\n');
}

/// The synopsis lines, indented.
fn usage_lines(out: &mut String, cmd: &Command) {
    for l in cmd.usage.lines() {
        out.push_str("  ");
        out.push_str(l);
        out.push('\n');
    }
}

const EXIT_STATUS: &str = "Exit status: 0 clean, 1 findings at or above --fail-on, 2 usage \
                           error, 3 the scan could not run (or stdout/an output file could \
                           not be written), 141 stdout is a closed pipe (quietly, as if \
                           killed by SIGPIPE).";

/// `fieldattest CMD --help`: its usage, what it does, its options.
pub fn command_help(cmd: &Command) -> String {
    let mut s = String::from("Usage:\n");
    usage_lines(&mut s, cmd);
    s.push('\n');
    wrap(&mut s, 0, cmd.about);
    s.push_str("\nOptions:\n");
    for f in FLAGS.iter().chain([&HELP]) {
        if f.cmds & cmd.bit == 0 {
            continue;
        }
        let mut row = match f.short {
            Some(c) => format!("  -{c}, --{}", f.long),
            None => format!("      --{}", f.long),
        };
        if let Some(name) = f.value {
            row.push(' ');
            row.push_str(name);
        }
        s.push_str(&row);
        let n = row.chars().count();
        if n + 2 > COL {
            s.push('\n');
            s.extend(std::iter::repeat_n(' ', COL));
        } else {
            s.extend(std::iter::repeat_n(' ', COL - n));
        }
        wrap(&mut s, COL, f.help);
    }
    s.push('\n');
    wrap(&mut s, 0, EXIT_STATUS);
    s
}

/// `fieldattest --help`: every subcommand's usage and what it does.
pub fn top_help() -> String {
    let mut s = format!(
        "{PROG} — software inventory and IEC 62443-4-2 checks for embedded Linux devices\n\nUsage:\n"
    );
    for c in COMMANDS {
        usage_lines(&mut s, c);
    }
    s.push_str(&format!("  {PROG} --help | --version\n\nCommands:\n"));
    for c in COMMANDS {
        let row = format!("  {:<9} ", c.name);
        s.push_str(&row);
        wrap(&mut s, row.len(), c.about);
    }
    s.push('\n');
    wrap(
        &mut s,
        0,
        &format!("'{PROG} COMMAND --help' describes the options of COMMAND."),
    );
    s.push('\n');
    wrap(&mut s, 0, EXIT_STATUS);
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn synopsis_and_help_agree_with_the_table() {
        for c in COMMANDS {
            let help = command_help(c);
            assert!(
                help.starts_with(&format!("Usage:\n  {PROG} {} ", c.name)),
                "{help}"
            );
            for word in c
                .usage
                .split(|ch: char| !(ch.is_ascii_alphanumeric() || ch == '-'))
            {
                let Some(long) = word.strip_prefix("--") else {
                    continue;
                };
                let f = FLAGS
                    .iter()
                    .find(|f| f.long == long)
                    .unwrap_or_else(|| panic!("{}: --{long} not in the table", c.name));
                assert!(f.cmds & c.bit != 0, "{}: --{long} not taken", c.name);
            }
            for f in FLAGS.iter().filter(|f| f.cmds & c.bit != 0) {
                assert!(
                    help.contains(&format!("--{} ", f.long))
                        || help.contains(&format!("--{}\n", f.long)),
                    "{}: --{} missing from its help",
                    c.name,
                    f.long
                );
            }
            for f in FLAGS.iter().filter(|f| f.cmds & c.bit == 0) {
                assert!(
                    !help.contains(&format!("      --{} ", f.long)),
                    "{}: lists --{}",
                    c.name,
                    f.long
                );
            }
            assert!(help.lines().all(|l| l.chars().count() <= WIDTH), "{help}");
        }
        let top = top_help();
        for c in COMMANDS {
            assert!(
                top.contains(&format!("\n  {PROG} {} ", c.name)),
                "{}",
                c.name
            );
        }
        assert!(top.lines().all(|l| l.chars().count() <= 84), "{top}");
    }

    #[test]
    fn wrap_keeps_words_and_width() {
        let mut s = String::from("  --x  ");
        wrap(&mut s, 7, &"word ".repeat(40));
        assert!(s.lines().all(|l| l.len() <= WIDTH));
        assert_eq!(s.split_whitespace().filter(|w| *w == "word").count(), 40);
        assert!(s.lines().skip(1).all(|l| l.starts_with("       word")));
    }
}
