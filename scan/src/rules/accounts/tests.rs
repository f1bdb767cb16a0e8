use super::super::testutil::{fails, passes, run, T};
use super::super::Skip;

const GOOD_PASSWD: &str = "root:x:0:0:root:/root:/bin/sh\ndaemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\nsync:x:4:65534:sync:/bin:/bin/sync\nalice:x:1000:1000::/home/alice:/bin/sh\n";
const GOOD_GROUP: &str = "root:x:0:\ndaemon:x:1:\nshadow:x:42:\nnogroup:x:65534:\nalice:x:1000:\n";
const GOOD_SHADOW: &str = "root:$y$j9T$salt$hash:19000:0:99999:7:::\ndaemon:*:19000:0:99999:7:::\nsync:*:19000:0:99999:7:::\nalice:$y$j9T$salt2$hash2:19000:0:99999:7:::\n";

fn good() -> T {
    let t = T::new();
    t.file("etc/passwd", GOOD_PASSWD)
        .file("etc/group", GOOD_GROUP)
        .file_mode("etc/shadow", GOOD_SHADOW, 0o640)
        .file("etc/default/useradd", "SHELL=/bin/sh\nINACTIVE=30\n")
        .file(
            "etc/pam.d/common-auth",
            "auth [success=1 default=ignore] pam_unix.so\n",
        );
    t
}

#[test]
fn hardened_accounts_pass_every_rule() {
    let t = good();
    for id in [
        "account.uid0-unique",
        "account.duplicate-ids",
        "account.empty-password",
        "account.hash-outside-shadow",
        "account.legacy-nis-entries",
        "account.system-account-login",
        "account.shared-generic-login",
        "account.hygiene",
    ] {
        passes(&t, id);
    }
}

#[test]
fn uid0_and_duplicates() {
    let t = good();
    t.file(
        "etc/passwd",
        &format!("{GOOD_PASSWD}toor:x:0:0::/root:/bin/sh\nbob:x:1000:1000::/home/bob:/bin/sh\n"),
    );
    t.file("etc/group", &format!("{GOOD_GROUP}bob:x:1000:\n"));
    let h = fails(&t, "account.uid0-unique");
    assert_eq!(h[0].subject.as_deref(), Some("toor"));
    assert_eq!(h[0].line, Some(5));
    let h = fails(&t, "account.duplicate-ids");
    let ev: Vec<&str> = h.iter().map(|h| h.evidence.as_str()).collect();
    assert!(
        ev.iter().any(|e| e.contains("UID 0 used by root, toor")),
        "{ev:?}"
    );
    assert!(
        ev.iter()
            .any(|e| e.contains("GID 1000 used by groups alice, bob")),
        "{ev:?}"
    );
}

#[test]
fn empty_password_and_nullok() {
    let t = good();
    t.file_mode(
        "etc/shadow",
        &GOOD_SHADOW.replace("alice:$y$j9T$salt2$hash2", "alice:"),
        0o640,
    );
    let h = fails(&t, "account.empty-password");
    assert_eq!(h.len(), 1);
    assert_eq!(h[0].subject.as_deref(), Some("alice"));
    let t = good();
    t.file(
        "etc/pam.d/common-auth",
        "auth [success=1 default=ignore] pam_unix.so nullok\n",
    );
    let h = fails(&t, "account.empty-password");
    assert_eq!(h[0].path.as_deref(), Some("/etc/pam.d/common-auth"));
    assert!(!h[0].evidence.contains('$'));
}

#[test]
fn hash_in_passwd_without_leaking_it() {
    let t = good();
    t.file(
        "etc/passwd",
        &GOOD_PASSWD.replace("alice:x:", "alice:$6$saltsalt$SECRETHASHVALUE:"),
    );
    let h = fails(&t, "account.hash-outside-shadow");
    assert!(h[0].evidence.contains("sha512crypt"));
    assert!(!format!("{h:?}").contains("SECRETHASHVALUE"));
}

#[test]
fn nis_lines() {
    let t = good();
    t.file("etc/passwd", &format!("{GOOD_PASSWD}+::::::\n"));
    assert_eq!(fails(&t, "account.legacy-nis-entries")[0].line, Some(5));
}

#[test]
fn system_accounts_with_shell_or_password() {
    let t = good();
    t.file(
        "etc/passwd",
        &GOOD_PASSWD.replace(
            "daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin",
            "daemon:x:1:1:daemon:/usr/sbin:/bin/sh",
        ),
    );
    let h = fails(&t, "account.system-account-login");
    assert!(h[0].evidence.contains("login shell /bin/sh"), "{h:?}");
    t.file("etc/login.defs", "UID_MIN 500\n");
    t.file(
        "etc/passwd",
        &format!("{GOOD_PASSWD}svc:x:600:600::/:/usr/sbin/nologin\n"),
    );
    t.file("etc/group", &format!("{GOOD_GROUP}svc:x:600:\n"));
    passes(&t, "account.system-account-login");
}

#[test]
fn generic_names() {
    let t = good();
    t.file(
        "etc/passwd",
        &format!("{GOOD_PASSWD}admin:x:1001:1000::/home/admin:/bin/sh\n"),
    );
    t.file_mode(
        "etc/shadow",
        &format!("{GOOD_SHADOW}admin:$6$s$h:19000:0:99999:7:::\n"),
        0o640,
    );
    let h = fails(&t, "account.shared-generic-login");
    assert_eq!(h[0].subject.as_deref(), Some("admin"));
}

#[test]
fn hygiene_problems() {
    let t = good();
    t.file(
        "etc/group",
        &GOOD_GROUP.replace("shadow:x:42:", "shadow:x:42:alice"),
    );
    t.file("etc/default/useradd", "SHELL=/bin/sh\n");
    let h = fails(&t, "account.hygiene");
    assert_eq!(h.len(), 2, "{h:?}");
}

#[test]
fn malformed_passwd_is_an_error_with_line() {
    let t = good();
    t.file("etc/passwd", &format!("{GOOD_PASSWD}broken line\n"));
    match run(&t, "account.uid0-unique") {
        Err(Skip::Error { path, line, .. }) => {
            assert_eq!(path, "/etc/passwd");
            assert_eq!(line, Some(5));
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn no_passwd_is_not_applicable() {
    let t = T::new();
    assert!(matches!(
        run(&t, "account.uid0-unique"),
        Err(Skip::NotApplicable(_))
    ));
}
