use super::super::testutil::{fails, passes, run, T};
use super::super::Skip;
use crate::parse::sshd;
use fieldattest_protocol::report::Severity;

/// sshd time format: `120`, `2m`, `1m30s`.
fn parse_time(v: &str) -> Option<u64> {
    sshd::convtime(v)
}

const HARDENED: &str = "Include /etc/ssh/sshd_config.d/*.conf\nPermitRootLogin no\nPermitEmptyPasswords no\nPasswordAuthentication no\nKbdInteractiveAuthentication no\nUsePAM yes\nX11Forwarding no\nAllowTcpForwarding no\nAllowAgentForwarding no\nAllowStreamLocalForwarding no\nPermitTunnel no\nPermitUserEnvironment no\nGatewayPorts no\nHostbasedAuthentication no\nIgnoreRhosts yes\nLogLevel VERBOSE\nAllowGroups sshusers\nMaxAuthTries 4\nLoginGraceTime 60\nMaxStartups 10:30:60\nCiphers chacha20-poly1305@openssh.com,aes256-gcm@openssh.com,aes256-ctr\nMACs hmac-sha2-512-etm@openssh.com,hmac-sha2-256-etm@openssh.com\nKexAlgorithms sntrup761x25519-sha512@openssh.com,curve25519-sha256\nClientAliveInterval 300\nMaxSessions 4\n";

fn hardened() -> T {
    let t = T::new();
    t.file_mode("etc/ssh/sshd_config", HARDENED, 0o600);
    std::fs::create_dir_all(t.dir.path().join("etc/ssh/sshd_config.d")).unwrap();
    t
}

const ALL: [&str; 14] = [
    "ssh.permit-root-login",
    "ssh.permit-empty-passwords",
    "ssh.password-authentication",
    "ssh.env-and-forwarding",
    "ssh.host-based-trust",
    "ssh.loglevel",
    "ssh.access-restricted",
    "ssh.auth-rate-limits",
    "ssh.ciphers",
    "ssh.macs",
    "ssh.kex",
    "ssh.key-and-config-perms",
    "session.idle-timeout",
    "session.concurrency-limit",
];

#[test]
fn hardened_config_passes_everything() {
    let t = hardened();
    let me_root = std::fs::metadata("/proc/self")
        .map(|m| std::os::unix::fs::MetadataExt::uid(&m) == 0)
        .unwrap_or(false);
    for id in ALL {
        if id == "ssh.key-and-config-perms" && !me_root {
            continue;
        }
        passes(&t, id);
    }
}

#[test]
fn no_sshd_is_not_applicable() {
    let t = T::new();
    for id in ALL {
        assert!(matches!(run(&t, id), Err(Skip::NotApplicable(_))), "{id}");
    }
}

#[test]
fn include_overrides_and_defaults() {
    let t = hardened();
    // An earlier include wins over the main file (first value wins).
    t.file(
        "etc/ssh/sshd_config.d/00-vendor.conf",
        "PermitRootLogin yes\nPermitEmptyPasswords yes\n",
    );
    let h = fails(&t, "ssh.permit-root-login");
    assert_eq!(
        h[0].path.as_deref(),
        Some("/etc/ssh/sshd_config.d/00-vendor.conf")
    );
    fails(&t, "ssh.permit-empty-passwords");
    // Absent keyword: the compiled-in default applies.
    let t = T::new();
    t.file("etc/ssh/sshd_config", "UsePAM yes\n");
    let h = fails(&t, "ssh.permit-root-login");
    assert!(h[0].evidence.contains("compiled-in default"), "{h:?}");
    let h = fails(&t, "ssh.macs");
    assert!(h.iter().any(|h| h.subject.as_deref() == Some("hmac-sha1")));
    passes(&t, "ssh.ciphers");
    fails(&t, "ssh.auth-rate-limits");
    fails(&t, "ssh.env-and-forwarding");
}

#[test]
fn match_blocks_are_reported_with_condition() {
    let t = hardened();
    t.file_mode("etc/ssh/sshd_config", &format!("{HARDENED}Match Address 10.0.0.0/8\n    PasswordAuthentication yes\n    PermitRootLogin yes\n"), 0o600);
    let h = fails(&t, "ssh.permit-root-login");
    assert!(h[0].evidence.contains("Match Address 10.0.0.0/8"), "{h:?}");
    let h = fails(&t, "ssh.password-authentication");
    assert_eq!(h[0].severity, Some(Severity::Medium));
}

#[test]
fn weak_algorithms_and_modifiers() {
    let t = hardened();
    t.file(
        "etc/ssh/sshd_config.d/10-legacy.conf",
        "Ciphers +aes128-cbc\nKexAlgorithms diffie-hellman-group1-sha1\nMACs hmac-md5\n",
    );
    let h = fails(&t, "ssh.ciphers");
    assert_eq!(h[0].subject.as_deref(), Some("aes128-cbc"));
    fails(&t, "ssh.kex");
    fails(&t, "ssh.macs");
}

#[test]
fn old_openssh_defaults_to_root_login_yes() {
    let t = T::new();
    t.file("etc/ssh/sshd_config", "UsePAM yes\n");
    let root = t.root();
    let mut pkg = fieldattest_protocol::report::Package::new(
        "openssh",
        "6.6p1",
        fieldattest_protocol::report::PackageSource::Binary,
        "/usr/sbin/sshd",
    );
    pkg.purl = None;
    let pkgs = [pkg];
    let ctx = super::super::Ctx::new(&root, false, 2, &pkgs, 20_000);
    let h = super::login::permit_root_login(&ctx).unwrap();
    assert!(
        h[0].evidence.contains("OpenSSH 6.6") && h[0].evidence.contains("'yes'"),
        "{h:?}"
    );
    let h = super::algorithms::ciphers(&ctx).unwrap();
    assert!(h.iter().any(|h| h.subject.as_deref() == Some("3des-cbc")));
}

#[test]
fn rate_limits_and_time_format() {
    assert_eq!(parse_time("1m30s"), Some(90));
    assert_eq!(parse_time("120"), Some(120));
    let t = hardened();
    t.file(
        "etc/ssh/sshd_config.d/01.conf",
        "MaxAuthTries 10\nLoginGraceTime 2m\n",
    );
    assert_eq!(fails(&t, "ssh.auth-rate-limits").len(), 2);
}

#[test]
fn world_writable_config_and_host_key() {
    let t = hardened();
    t.file_mode("etc/ssh/sshd_config", HARDENED, 0o666);
    t.file_mode("etc/ssh/ssh_host_ed25519_key", "not really a key", 0o644);
    let h = fails(&t, "ssh.key-and-config-perms");
    assert!(h
        .iter()
        .any(|h| h.path.as_deref() == Some("/etc/ssh/sshd_config")));
    assert!(h
        .iter()
        .any(|h| h.evidence.contains("private host key mode 0644")));
}

/// A tree with HARDENED plus `extra` appended to the main file.
fn with(extra: &str) -> T {
    let t = hardened();
    t.file_mode("etc/ssh/sshd_config", &format!("{extra}{HARDENED}"), 0o600);
    t
}

#[test]
fn quoted_values_and_trailing_comments() {
    // Quotes: `PermitEmptyPasswords "yes"` is yes; `MaxAuthTries "3"` is 3.
    fails(
        &with("PermitEmptyPasswords \"yes\"\n"),
        "ssh.permit-empty-passwords",
    );
    passes(&with("MaxAuthTries \"3\"\n"), "ssh.auth-rate-limits");
    // A trailing comment is not part of the value.
    passes(
        &with("PermitRootLogin no # not yes\n"),
        "ssh.permit-root-login",
    );
    passes(&with("LogLevel VERBOSE # more\n"), "ssh.loglevel");
    // …but glued to it, sshd refuses the line: an error naming it.
    let t = with("PermitRootLogin no#x\n");
    assert!(matches!(
        run(&t, "ssh.permit-root-login"),
        Err(Skip::Error { line: Some(1), .. })
    ));
}

#[test]
fn include_inside_match_stays_in_the_match() {
    let t = hardened();
    t.file("etc/ssh/extra.conf", "X11Forwarding no\n");
    t.file_mode(
        "etc/ssh/sshd_config",
        &format!("{HARDENED}Match User backup\nInclude /etc/ssh/extra.conf\nPermitRootLogin yes\n"),
        0o600,
    );
    let h = fails(&t, "ssh.permit-root-login");
    assert_eq!(h.len(), 1, "{h:?}");
    assert!(h[0].evidence.contains("Match User backup"), "{h:?}");
}

#[test]
fn include_glob_skips_dot_files() {
    let t = hardened();
    t.file("etc/ssh/sshd_config.d/.swap.conf", "PermitRootLogin yes\n");
    passes(&t, "ssh.permit-root-login");
    t.file("etc/ssh/sshd_config.d/00-a.conf", "PermitRootLogin yes\n");
    fails(&t, "ssh.permit-root-login");
}

#[test]
fn match_all_overrides_and_shadowing() {
    // A Match all value overrides the earlier top-level one.
    let t = hardened();
    t.file_mode(
        "etc/ssh/sshd_config",
        &format!("{HARDENED}Match all\nPermitRootLogin yes\n"),
        0o600,
    );
    let h = fails(&t, "ssh.permit-root-login");
    assert!(h[0].evidence.contains("Match all"), "{h:?}");
    // First value wins inside a block and across blocks of the same
    // condition: the later `yes` cannot take effect.
    let t = hardened();
    t.file_mode(
        "etc/ssh/sshd_config",
        &format!("{HARDENED}Match User bob\nPermitRootLogin no\nPermitRootLogin yes\nMatch User bob\nPermitRootLogin yes\nMatch all\nX11Forwarding no\nMatch Address 10.0.0.0/8\nX11Forwarding yes\n"),
        0o600,
    );
    passes(&t, "ssh.permit-root-login");
    passes(&t, "ssh.env-and-forwarding");
    // A different condition can take effect.
    let t = hardened();
    t.file_mode(
        "etc/ssh/sshd_config",
        &format!(
            "{HARDENED}Match User bob\nPermitRootLogin no\nMatch User alice\nPermitRootLogin yes\n"
        ),
        0o600,
    );
    let h = fails(&t, "ssh.permit-root-login");
    assert!(h[0].evidence.contains("Match User alice"), "{h:?}");
}

#[test]
fn kbd_interactive_default_with_pam() {
    // Nothing set: KbdInteractiveAuthentication defaults to yes, so PAM
    // password prompts are allowed with UsePAM yes.
    let t = with("");
    t.file_mode(
        "etc/ssh/sshd_config",
        &HARDENED.replace("KbdInteractiveAuthentication no\n", ""),
        0o600,
    );
    let h = fails(&t, "ssh.password-authentication");
    assert!(h[0].evidence.contains("compiled-in default"), "{h:?}");
    // The alias and the keyword: the first occurrence of either wins.
    passes(
        &with("ChallengeResponseAuthentication no\nKbdInteractiveAuthentication yes\n"),
        "ssh.password-authentication",
    );
    let h = fails(
        &with("ChallengeResponseAuthentication yes\n"),
        "ssh.password-authentication",
    );
    assert_eq!(
        h[0].subject.as_deref(),
        Some("challengeresponseauthentication")
    );
    // Without UsePAM no finding.
    let t = hardened();
    t.file_mode(
        "etc/ssh/sshd_config",
        &HARDENED.replace("KbdInteractiveAuthentication no\nUsePAM yes\n", ""),
        0o600,
    );
    passes(&t, "ssh.password-authentication");
}

#[test]
fn repeated_default_algorithm_reported_once() {
    let t = hardened();
    t.file(
        "etc/ssh/sshd_config.d/10-legacy.conf",
        "MACs ^hmac-sha1,hmac-sha1,umac-64@openssh.com\n",
    );
    let h = fails(&t, "ssh.macs");
    let sha1 = h
        .iter()
        .filter(|h| h.subject.as_deref() == Some("hmac-sha1"))
        .count();
    assert_eq!(sha1, 1, "{h:?}");
    let t = hardened();
    t.file(
        "etc/ssh/sshd_config.d/10-legacy.conf",
        "Ciphers +aes128-ctr,aes128-cbc,aes128-cbc\n",
    );
    let h = fails(&t, "ssh.ciphers");
    assert_eq!(h.len(), 1, "{h:?}");
    // The hostile removal pattern resolves quickly and removes nothing weak.
    let t = hardened();
    t.file(
        "etc/ssh/sshd_config.d/10-legacy.conf",
        &format!("Ciphers -{}z\n", "*".repeat(40)),
    );
    // No timing assertion (the glob is linear by construction; a
    // regression would hang and the harness's timeout would fail it).
    passes(&t, "ssh.ciphers");
}

#[test]
fn global_only_keyword_in_match_is_an_error() {
    let t = with("");
    t.file_mode(
        "etc/ssh/sshd_config",
        &format!("{HARDENED}Match User x\nCiphers aes128-cbc\n"),
        0o600,
    );
    assert!(matches!(run(&t, "ssh.ciphers"), Err(Skip::Error { .. })));
}

#[test]
fn many_match_blocks_stay_fast() {
    let t = hardened();
    let mut text = HARDENED.to_string();
    for i in 0..20_000 {
        text.push_str(&format!(
            "Match User u{i} Address 10.{}.0.0/16\nPermitRootLogin yes\n",
            i % 200
        ));
    }
    t.file_mode("etc/ssh/sshd_config", &text, 0o600);
    // Every block is evaluated and reported once; the cost is linear in
    // the blocks (no timing assertion: it runs under qemu too).
    let h = fails(&t, "ssh.permit-root-login");
    assert_eq!(h.len(), 20_000);
}
