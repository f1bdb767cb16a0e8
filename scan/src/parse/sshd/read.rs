//! Reading a configuration file and what it includes into [`SshdConfig`]:
//! the Match state across Include, and the lines sshd would refuse.

use super::include::glob_paths;
use super::lex::keyword_split;
use super::matching::parse_match;
use super::{
    argv_split, canonical, parse_value, Criterion, Files, MatchBlock, Setting, Slot, SshdConfig,
    GLOBAL_ONLY, KEYS, MAX_BYTES, MAX_DEPTH, MAX_FILES, MAX_LISTS,
};
use crate::parse::LineError;

struct State<'f> {
    files: &'f dyn Files,
    cfg: SshdConfig,
    errors: Vec<(String, LineError)>,
    /// Whether each block is active in the global pass.
    active1: Vec<bool>,
    depth: usize,
    bytes: usize,
    /// Directory listings Include globs may still do.
    lists: usize,
    /// The files being parsed, outermost first: an Include of one of them is
    /// a cycle, which sshd refuses (it recurses until "Too many recursive
    /// configuration includes"); following it would only multiply the work.
    stack: Vec<String>,
}

fn parse_file(st: &mut State, path: &str, text: &str, inherited: Option<usize>) {
    st.stack.push(path.to_string());
    parse_lines(st, path, text, inherited);
    st.stack.pop();
}

fn parse_lines(st: &mut State, path: &str, text: &str, inherited: Option<usize>) {
    st.cfg.files.push(path.to_string());
    st.bytes += text.len();
    let mut current = inherited;
    let err = |st: &mut State, line: u64, m: String| {
        st.errors.push((path.to_string(), LineError::new(line, m)))
    };
    for (i, raw) in text.split('\n').enumerate() {
        let line = i as u64 + 1;
        let Some((kw, rest)) = keyword_split(raw) else {
            continue;
        };
        if rest.is_empty() {
            err(st, line, format!("'{kw}' without a value"));
            continue;
        }
        let args = match argv_split(rest) {
            Some(a) => a,
            None => {
                err(st, line, format!("'{kw}': unbalanced quotes"));
                continue;
            }
        };
        let key = kw.to_ascii_lowercase();
        match key.as_str() {
            "include" => {
                if args.is_empty() {
                    err(st, line, "Include without a file name".into());
                }
                for a in &args {
                    if a.is_empty() {
                        err(st, line, "Include with an empty argument".into());
                        break;
                    }
                    if st.depth + 1 > MAX_DEPTH {
                        err(st, line, "Include nested too deeply".into());
                        break;
                    }
                    // `~` is not expanded by sshd (no GLOB_TILDE): a relative
                    // name to the daemon's working directory, not in the image.
                    if a.starts_with('~') {
                        continue;
                    }
                    let pat = if a.starts_with('/') {
                        a.clone()
                    } else {
                        format!("/etc/ssh/{a}")
                    };
                    if st.lists == 0 {
                        err(st, line, format!("Include {a}: more than {MAX_LISTS} directory listings for Include globs"));
                        return;
                    }
                    for p in glob_paths(st.files, &pat, &mut st.lists) {
                        if st.cfg.files.len() >= MAX_FILES || st.bytes > MAX_BYTES {
                            err(st, line, format!("Include {p}: more than {MAX_FILES} files or {MAX_BYTES} bytes of configuration"));
                            return;
                        }
                        if st.stack.contains(&p) {
                            err(st, line, format!("Include {p}: includes itself (an Include cycle; sshd refuses it)"));
                            continue;
                        }
                        match st.files.read(&p) {
                            Some(Ok(t)) => {
                                st.depth += 1;
                                parse_file(st, &p, &t, current);
                                st.depth -= 1;
                            }
                            Some(Err(e)) => err(st, line, format!("Include {p}: {e}")),
                            None => {}
                        }
                    }
                }
            }
            "match" => {
                let criteria = match parse_match(rest) {
                    Ok(c) => c,
                    Err(e) => {
                        err(st, line, format!("bad Match condition: {e}"));
                        Vec::new()
                    }
                };
                let parent_active = inherited.map(|p| st.active1[p]).unwrap_or(true);
                st.active1
                    .push(parent_active && criteria == [Criterion::All]);
                // The condition as written, without a trailing comment.
                let cut = rest
                    .char_indices()
                    .find(|(i, c)| *c == '#' && rest[..*i].ends_with([' ', '\t']))
                    .map(|(i, _)| i)
                    .unwrap_or(rest.len());
                let condition = rest[..cut].trim_end().to_string();
                st.cfg.matches.push(MatchBlock {
                    condition,
                    criteria,
                    parent: inherited,
                    path: path.to_string(),
                    line,
                    settings: Vec::new(),
                });
                current = Some(st.cfg.matches.len() - 1);
            }
            _ => {
                let canon = canonical(&key);
                let active1 = current.map(|b| st.active1[b]).unwrap_or(true);
                if !active1 && GLOBAL_ONLY.contains(&key.as_str()) {
                    err(
                        st,
                        line,
                        format!("'{kw}' is not allowed within a Match block"),
                    );
                    continue;
                }
                if KEYS.contains(&canon) {
                    if let Err(e) = parse_value(canon, &args) {
                        err(st, line, format!("{kw}: {e}"));
                        continue;
                    }
                }
                let s = Setting {
                    key,
                    value: args.join(" "),
                    args,
                    path: path.to_string(),
                    line,
                };
                match current {
                    Some(b) => {
                        st.cfg.matches[b].settings.push(s);
                        let i = st.cfg.matches[b].settings.len() - 1;
                        st.cfg.order.push(Slot::Block(b, i));
                    }
                    None => {
                        st.cfg.global.push(s);
                        st.cfg.order.push(Slot::Global(st.cfg.global.len() - 1));
                    }
                }
            }
        }
    }
}

/// Parses the configuration at `path` and everything it includes. Errors carry
/// the file they belong to; each is a line sshd would refuse.
pub fn parse(files: &dyn Files, path: &str, text: &str) -> (SshdConfig, Vec<(String, LineError)>) {
    let mut st = State {
        files,
        cfg: SshdConfig::default(),
        errors: Vec::new(),
        active1: Vec::new(),
        depth: 0,
        bytes: 0,
        lists: MAX_LISTS,
        stack: Vec::new(),
    };
    if text.len() > MAX_BYTES {
        st.errors.push((
            path.to_string(),
            LineError::new(1, format!("larger than {MAX_BYTES} bytes")),
        ));
        return (st.cfg, st.errors);
    }
    parse_file(&mut st, path, text, None);
    (st.cfg, st.errors)
}
