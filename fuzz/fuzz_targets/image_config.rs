//! Fuzz target: the line-oriented configuration files an image holds —
//! passwd, shadow, group, login.defs (`parse::accounts`), PAM (`parse::pam`),
//! sudoers and its command lists (`parse::sudoers`), sysctl.conf
//! (`parse::sysctl`), inittab, inetd.conf, xinetd.d (`parse::services`) and
//! os-release (`inventory::os`). Every input goes to every parser (each is
//! cheap, and a seed is a real file as it is), each call within the linear
//! budget of `budget.rs`.
//!
//! `fuzz/run-all.sh` runs it; by hand:
//! `RUSTC_BOOTSTRAP=1 cargo fuzz run image_config fuzz/corpus/image_config fuzz/seeds/image_config`
#![no_main]

use fieldattest_scan::inventory::os;
use fieldattest_scan::parse::{accounts, pam, services, sudoers, sysctl};
use libfuzzer_sys::fuzz_target;

#[path = "budget.rs"]
mod budget;

fuzz_target!(|data: &[u8]| {
    let t = budget::text(data);
    let n = data.len();
    let _ = budget::check("accounts::parse_passwd", n, || {
        let (v, e) = accounts::parse_passwd(&t);
        for p in &v {
            let _ = accounts::pw_state(&p.password);
            let _ = accounts::is_nologin_shell(&p.shell);
        }
        (v, e)
    });
    let _ = budget::check("accounts::parse_shadow", n, || {
        let (v, e) = accounts::parse_shadow(&t);
        for s in &v {
            let _ = accounts::pw_state(&s.hash);
        }
        (v, e)
    });
    let _ = budget::check("accounts::parse_group", n, || accounts::parse_group(&t));
    let _ = budget::check("accounts::parse_login_defs", n, || {
        let d = accounts::parse_login_defs(&t);
        for k in [
            "ENCRYPT_METHOD",
            "PASS_MAX_DAYS",
            "UMASK",
            "SHA_CRYPT_MIN_ROUNDS",
        ] {
            let _ = d.get(k);
            let _ = d.get_num(k);
        }
        d
    });
    let _ = budget::check("pam::parse", n, || {
        let (v, e) = pam::parse(&t);
        for l in &v {
            let _ = l.module_name();
            let _ = l.arg("remember");
            let _ = l.has_arg("nullok");
        }
        (v, e)
    });
    let _ = budget::check("sudoers::parse", n, || {
        let (v, e) = sudoers::parse(&t);
        let mut cmds = Vec::new();
        for l in &v {
            if let sudoers::Entry::Spec { rest, .. } = &l.entry {
                cmds.push(sudoers::commands(rest));
            }
        }
        (v, e, cmds)
    });
    let _ = budget::check("sudoers::commands", n, || sudoers::commands(&t));
    let _ = budget::check("sysctl::parse", n, || {
        let (v, e) = sysctl::parse(&t);
        let keys: Vec<String> = v.iter().map(|a| sysctl::normalize_key(&a.key)).collect();
        (v, e, keys)
    });
    let _ = budget::check("services::parse_inittab", n, || services::parse_inittab(&t));
    let _ = budget::check("services::parse_inetd", n, || services::parse_inetd(&t));
    let _ = budget::check("services::parse_xinetd", n, || services::parse_xinetd(&t));
    let _ = budget::check("services::parse_proc_net", n, || {
        let v = services::parse_proc_net(&t, "tcp");
        for l in &v {
            let _ = services::is_loopback(&l.addr);
        }
        v
    });
    let _ = budget::check("os::parse_os_release", n, || os::parse_os_release(&t));
    let _ = budget::check("os::parse_proc_modules", n, || os::parse_proc_modules(&t));
});
