//! End-to-end rule tests of the binary: a hardened device produces no failure,
//! a factory-default device produces each planted finding, no secret reaches
//! any output, and accept files / --fail-on behave as documented.

use fieldattest_tests::{
    assert_rule_catalog, committed_rule_ids, fieldattest, json_of, scan_ok, Tree,
};
use serde_json::Value;
use std::os::unix::fs::PermissionsExt;
use std::process::Command;

fn chmod(t: &Tree, rel: &str, mode: u32) {
    std::fs::set_permissions(t.root().join(rel), std::fs::Permissions::from_mode(mode)).unwrap();
}

fn keygen(t: &Tree, rel: &str, args: &[&str]) {
    let p = t.root().join(rel);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    let st = Command::new("ssh-keygen")
        .args(["-q", "-N", "", "-C", "fixture"])
        .args(args)
        .arg("-f")
        .arg(&p)
        .status()
        .expect("ssh-keygen (openssh-client) is needed");
    assert!(st.success());
}

fn enable(t: &Tree, target: &str, unit: &str) {
    let d = t.root().join(format!("etc/systemd/system/{target}.wants"));
    std::fs::create_dir_all(&d).unwrap();
    std::os::unix::fs::symlink(format!("/lib/systemd/system/{unit}"), d.join(unit)).unwrap();
}

const HARDENED_SYSCTL: &str = "kernel.kptr_restrict = 2\nkernel.dmesg_restrict = 1\nkernel.perf_event_paranoid = 3\nkernel.randomize_va_space = 2\nkernel.yama.ptrace_scope = 2\nfs.protected_symlinks = 1\nfs.protected_hardlinks = 1\nfs.protected_fifos = 2\nfs.protected_regular = 2\nkernel.unprivileged_bpf_disabled = 1\nnet.core.bpf_jit_harden = 2\nvm.unprivileged_userfaultfd = 0\nkernel.io_uring_disabled = 2\ndev.tty.ldisc_autoload = 0\ndev.tty.legacy_tiocsti = 0\nfs.suid_dumpable = 0\nnet.ipv4.conf.all.send_redirects = 0\nnet.ipv4.conf.all.accept_redirects = 0\nnet.ipv4.conf.all.secure_redirects = 0\nnet.ipv6.conf.all.accept_redirects = 0\nnet.ipv6.conf.all.accept_ra = 0\nnet.ipv4.conf.all.rp_filter = 1\nnet.ipv4.conf.all.log_martians = 1\n";

const HARDENED_SSHD: &str = "PermitRootLogin no\nPermitEmptyPasswords no\nPasswordAuthentication no\nKbdInteractiveAuthentication no\nUsePAM yes\nX11Forwarding no\nAllowTcpForwarding no\nAllowAgentForwarding no\nAllowStreamLocalForwarding no\nPermitTunnel no\nPermitUserEnvironment no\nGatewayPorts no\nHostbasedAuthentication no\nIgnoreRhosts yes\nLogLevel VERBOSE\nAllowGroups sshusers\nMaxAuthTries 4\nLoginGraceTime 60\nMaxStartups 10:30:60\nCiphers chacha20-poly1305@openssh.com,aes256-gcm@openssh.com,aes256-ctr\nMACs hmac-sha2-512-etm@openssh.com,hmac-sha2-256-etm@openssh.com\nKexAlgorithms sntrup761x25519-sha512@openssh.com,curve25519-sha256\nClientAliveInterval 300\nMaxSessions 4\nHostKey /etc/ssh/ssh_host_ed25519_key\nBanner /etc/issue.net\n";

/// A device configured the way the catalog asks.
fn hardened() -> Tree {
    let t = Tree::new();
    t.file("etc/os-release", "ID=poky\nVERSION_ID=5.0.4\nNAME=\"Poky\"\n")
        .file("etc/passwd", "root:x:0:0:root:/root:/bin/sh\ndaemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\nsshd:x:74:74::/run/sshd:/usr/sbin/nologin\nalice:x:1000:1000::/home/alice:/bin/sh\n")
        .file("etc/group", "root:x:0:\ndaemon:x:1:\nshadow:x:42:\nsshd:x:74:\nalice:x:1000:\nsshusers:x:1001:alice\n")
        .file("etc/shadow", "root:!:19000:1:365:7:30::\ndaemon:*:19000:1:365:7:::\nsshd:!:19000:1:365:7:::\nalice:$y$j9T$Rz1a3b0YbL.UR9zB3zSQ.0$T0aNKD0A6WlO8bYjDvKqYB6c3C8QmA4S6m0Lbw4E7K6:19000:1:365:7:30::\n")
        .file("etc/login.defs", "UID_MIN 1000\nENCRYPT_METHOD YESCRYPT\nPASS_MAX_DAYS 365\nPASS_MIN_DAYS 1\nPASS_WARN_AGE 7\nUMASK 027\n")
        .file("etc/default/useradd", "SHELL=/bin/sh\nINACTIVE=30\n")
        .file("etc/pam.d/common-auth", "auth required pam_faillock.so preauth\nauth [success=1 default=ignore] pam_unix.so\nauth [default=die] pam_faillock.so authfail\nauth requisite pam_deny.so\nauth required pam_permit.so\n")
        .file("etc/pam.d/common-password", "password requisite pam_pwquality.so retry=3\npassword required pam_pwhistory.so remember=5 use_authtok\npassword [success=1 default=ignore] pam_unix.so obscure use_authtok yescrypt\npassword requisite pam_deny.so\npassword required pam_permit.so\n")
        .file("etc/pam.d/su", "auth sufficient pam_rootok.so\nauth required pam_wheel.so use_uid\n@include common-auth\n")
        .file("etc/security/pwquality.conf", "minlen = 14\ndictcheck = 1\nenforce_for_root\n")
        .file("etc/security/faillock.conf", "deny = 5\nunlock_time = 900\n")
        .file("etc/issue", "Authorised use only. All activity is monitored.\n")
        .file("etc/issue.net", "Authorised use only. All activity is monitored.\n")
        .file("etc/sudoers", "Defaults env_reset\nroot ALL=(ALL:ALL) ALL\n%sudo ALL=(ALL:ALL) ALL\n")
        .file("etc/ssh/sshd_config", HARDENED_SSHD)
        .file("etc/sysctl.d/90-hardening.conf", HARDENED_SYSCTL)
        .file("etc/rsyslog.conf", "$FileCreateMode 0640\n*.* @@logs.plant.example:6514\n")
        .file("sbin/auditd", "")
        .file("etc/audit/rules.d/10-base.rules", "-w /etc/shadow -p wa -k identity\n-e 2\n")
        .file("etc/inittab", "id:3:initdefault:\nsi::sysinit:/etc/init.d/rcS\n~~:S:wait:/sbin/sulogin\n")
        .dir("home/alice");
    keygen(&t, "etc/ssh/ssh_host_ed25519_key", &["-t", "ed25519"]);
    enable(&t, "multi-user.target", "rsyslog.service");
    enable(&t, "multi-user.target", "systemd-timesyncd.service");
    enable(&t, "multi-user.target", "auditd.service");
    enable(&t, "multi-user.target", "sshd.service");
    chmod(&t, "etc/shadow", 0o640);
    chmod(&t, "etc/ssh/sshd_config", 0o600);
    chmod(&t, "home/alice", 0o750);
    chmod(&t, "etc/sudoers", 0o440);
    t
}

fn is_root() -> bool {
    std::fs::metadata("/proc/self")
        .map(|m| std::os::unix::fs::MetadataExt::uid(&m) == 0)
        .unwrap_or(false)
}

#[test]
fn hardened_device_has_no_failures() {
    let t = hardened();
    let out = scan_ok(&t.root_str(), &["--format", "json", "--fail-on", "info"]);
    let v = json_of(&out);
    let fails: Vec<String> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| format!("{} {} {}", f["rule"], f["subject"], f["evidence"]))
        .collect();
    // Ownership checks need the fixture owned by root, as on a device.
    let fails: Vec<&String> = fails
        .iter()
        .filter(|f| is_root() || !f.contains("uid"))
        .collect();
    assert!(
        fails.is_empty(),
        "hardened fixture has failures:\n{fails:#?}"
    );
    let errors: Vec<&Value> = v["rules"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["status"] == "error")
        .collect();
    assert!(errors.is_empty(), "{errors:?}");
    assert!(v["summary"]["meets_target"].as_bool().unwrap() || !is_root());
    assert!(v["inventory"]["keys"]
        .as_array()
        .unwrap()
        .iter()
        .any(|k| k["kind"] == "ssh-host" && k["algorithm"] == "ed25519"));
}

const SECRET_HASHES: [&str; 3] = [
    "$1$fact0ry$Jm1r1FwZ.mLk3yk0ILYZn0",
    "$6$n0rounds$QqNO8nMXoUDyN.1Fr1mVy/9VshA9EBxcqz8CXk1D/L0gm7X.VKnQ6WJt8a1sUSnkP1HiXwp4Co.mbUzvIYb3L1",
    "$1$svcsalt$eNNq9l5zVx8cZ1ok9yO2L.",
];

/// A device as it might leave a factory: one planted problem per rule listed
/// in `FACTORY_EXPECTED`.
fn openssl_sha512(password: &str) -> String {
    let out = Command::new("openssl")
        .args(["passwd", "-6", password])
        .output()
        .expect("openssl CLI");
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

fn factory_default() -> Tree {
    let t = Tree::new();
    let pi_hash = openssl_sha512("raspberry");
    t.file("etc/os-release", "ID=poky\nVERSION_ID=4.0\nNAME=\"Poky\"\n")
        .file(
            "etc/passwd",
            format!(
                "root:x:0:0:root:/root:/bin/sh\ntoor:x:0:0::/root:/bin/sh\ndaemon:x:1:1:daemon:/usr/sbin:/bin/sh\nadmin:x:1000:1000::/home/admin:/bin/sh\nguest:x:1001:1001::/home/guest:/bin/sh\nsvc:{}:1002:1002::/home/svc:/bin/sh\ndup:x:1001:1001::/home/dup:/bin/sh\npi:x:1003:1003::/home/pi:/bin/sh\n+::::::\n",
                SECRET_HASHES[2]
            ),
        )
        .file("etc/group", "root:x:0:\ndaemon:x:1:\nshadow:x:42:\nadmin:x:1000:\nguest:x:1001:\nsvc:x:1002:\npi:x:1003:\n")
        .file(
            "etc/shadow",
            format!(
                "root:{}:19000:0:99999:7:::\ntoor:*:19000:0:99999:7:::\ndaemon:*:19000:0:99999:7:::\nadmin:{}:19000:0:99999:7:::\nguest::19000:0:99999:7:::\nsvc:x:19000:0:99999:7:::\ndup:!:19000::::::\npi:{}:19000:0:99999:7:::\n",
                SECRET_HASHES[1], SECRET_HASHES[0], pi_hash
            ),
        )
        .file("etc/login.defs", "UID_MIN 1000\nENCRYPT_METHOD MD5\n")
        .file("etc/pam.d/common-auth", "auth [success=1 default=ignore] pam_unix.so nullok\nauth requisite pam_deny.so\n")
        .file("etc/pam.d/common-password", "password [success=1 default=ignore] pam_unix.so md5\n")
        .file("etc/ssh/sshd_config", "PermitRootLogin yes\nPermitEmptyPasswords yes\nCiphers +3des-cbc\nHostbasedAuthentication yes\nHostKey /etc/ssh/ssh_host_rsa_key\n")
        .file("etc/sudoers", "root ALL=(ALL) ALL\nadmin ALL=(ALL) NOPASSWD: ALL\n")
        .file("etc/inetd.conf", "telnet stream tcp nowait root /usr/sbin/telnetd telnetd\ntftp dgram udp wait root /usr/sbin/tftpd tftpd /srv/tftp\n")
        .file("etc/snmp/snmpd.conf", "rocommunity public\nrwcommunity private\n")
        .file("etc/mosquitto/mosquitto.conf", "listener 1883\nallow_anonymous true\n")
        .file("etc/inittab", "::sysinit:/etc/init.d/rcS\nttyS0::askfirst:-/bin/sh\n")
        .file("boot/uEnv.txt", "bootdelay=3\nbootcmd=run mmcboot\n")
        .file("etc/sysctl.conf", "kernel.randomize_va_space = 0\n")
        .file("root/.rhosts", "+ +\n")
        .file("lib/modules/5.15.0/modules.dep", "kernel/net/sctp/sctp.ko:\nkernel/drivers/usb/storage/usb-storage.ko:\n")
        .file("usr/sbin/dropbear", "")
        .file("etc/default/dropbear", "DROPBEAR_EXTRA_ARGS=\"\"\n")
        .file(
            "root/.ssh/authorized_keys",
            "ssh-rsa AAAAB3NzaC1yc2EAAAABIwAAAQEA6NF8iallvQVp22WDkTkyrtvp9eWW6A8YVr+kz4TjGYe7gHzIw+niNltGEFHzD8+v1I2YJ6oXevct1YeS0o9HZyN1Q9qgCgzUFtdOKLv6IedplqoPkcmF0aYet2PkEDo3MlTBckFXPITAMzF8dJSIFo9D8HfdOV0IAdx4O7PtixWKn5y2hMNG0zQPyUecp4pzC6kivAIhyfHilFR61RGL+GPXQ2MWZWFYbAGjyiYJnAmCP3NOTd0jMZEnDkbUvxhMmBYSdETk1rRgm+R4LOzFUGaHqHDLKLX+FIPKcF96hrucXzcWyLbIbEgE98OHlnVYCzRdK8jlqm8tehUc9c9WhQ== vagrant insecure public key\n",
        );
    keygen(&t, "etc/ssh/ssh_host_rsa_key", &["-t", "rsa", "-b", "1024"]);
    keygen(&t, "home/admin/.ssh/id_ed25519", &["-t", "ed25519"]);
    chmod(&t, "etc/shadow", 0o644);
    t
}

const FACTORY_EXPECTED: [&str; 33] = [
    "cred.known-default-password",
    "account.uid0-unique",
    "account.duplicate-ids",
    "account.empty-password",
    "account.hash-outside-shadow",
    "account.legacy-nis-entries",
    "account.system-account-login",
    "account.shared-generic-login",
    "pwhash.weak-scheme",
    "pwhash.low-cost",
    "pwhash.configured-method",
    "pwpolicy.quality-module",
    "pam.login-lockout",
    "ssh.permit-root-login",
    "ssh.permit-empty-passwords",
    "ssh.ciphers",
    "ssh.host-based-trust",
    "ssh.hostkey-strength",
    "ssh.dropbear-hardening",
    "sshkey.private-unencrypted",
    "keys.known-compromised",
    "sudo.nopasswd",
    "fileperm.shadow",
    "svc.telnet",
    "svc.legacy-plaintext",
    "cred.snmp-default-community",
    "mqtt.broker-auth-tls",
    "debug.serial-console-login",
    "boot.bootloader-locked",
    "sysctl.aslr",
    "cred.netrc-rhosts",
    "kmod.unneeded",
    "priv.escalation-scope",
];

#[test]
fn factory_default_device_produces_every_planted_finding() {
    let t = factory_default();
    if let Some(dir) = std::env::var_os("FIELDATTEST_FIXTURE_OUT") {
        // For bench/rules_vs_oscap.py: keep a copy of the fixture and the expected list.
        let st = Command::new("cp")
            .arg("-a")
            .arg(t.root())
            .arg(&dir)
            .status()
            .unwrap();
        assert!(st.success());
        std::fs::write(
            std::path::Path::new(&dir).join(".expected"),
            FACTORY_EXPECTED.join("\n"),
        )
        .unwrap();
    }
    let out = fieldattest(&[
        "scan",
        "--root",
        &t.root_str(),
        "--format",
        "json",
        "--fail-on",
        "critical",
    ]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "critical findings must fail --fail-on critical"
    );
    let v = json_of(&out);
    let rules: Vec<&str> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["rule"].as_str().unwrap())
        .collect();
    let missing: Vec<&&str> = FACTORY_EXPECTED
        .iter()
        .filter(|r| !rules.contains(r))
        .collect();
    assert!(
        missing.is_empty(),
        "planted problems not found: {missing:?}"
    );
    let errors: Vec<&Value> = v["rules"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["status"] == "error")
        .collect();
    assert!(errors.is_empty(), "{errors:?}");
    assert_eq!(v["summary"]["meets_target"], false);
    assert_eq!(v["summary"]["sl_ceiling"]["FR1"], 0);
    // Text output groups by FR with the worst first.
    let out = fieldattest(&["scan", "--root", &t.root_str()]);
    let text = String::from_utf8_lossy(&out.stdout);
    let fr1 = text.find("  FR1").unwrap();
    let crit = text[fr1..].find("CRITICAL").unwrap();
    let low = text[fr1..].find("LOW").unwrap_or(usize::MAX);
    assert!(crit < low, "{text}");
}

#[test]
fn no_secret_reaches_any_output() {
    let t = factory_default();
    let key_b64: Vec<String> = {
        let k = std::fs::read_to_string(t.root().join("home/admin/.ssh/id_ed25519")).unwrap();
        k.lines()
            .filter(|l| !l.starts_with("-----") && l.len() > 20)
            .map(str::to_string)
            .collect()
    };
    let host_key: Vec<String> = {
        let k = std::fs::read_to_string(t.root().join("etc/ssh/ssh_host_rsa_key")).unwrap();
        k.lines()
            .filter(|l| !l.starts_with("-----") && l.len() > 20)
            .map(str::to_string)
            .collect()
    };
    assert!(!key_b64.is_empty() && !host_key.is_empty());
    let shadow = std::fs::read_to_string(t.root().join("etc/shadow")).unwrap();
    let pi_hash = shadow
        .lines()
        .find(|l| l.starts_with("pi:"))
        .unwrap()
        .split(':')
        .nth(1)
        .unwrap()
        .to_string();
    for format in ["json", "text", "cyclonedx"] {
        let out = fieldattest(&["scan", "--root", &t.root_str(), "--format", format]);
        let all = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        for h in SECRET_HASHES {
            assert!(!all.contains(h), "{format} output contains a password hash");
            // Not even the salt+hash part without the prefix.
            let tail = h.rsplit('$').next().unwrap();
            assert!(
                !all.contains(tail),
                "{format} output contains hash material"
            );
        }
        assert!(
            !all.contains(&pi_hash) && !all.contains(pi_hash.rsplit('$').next().unwrap()),
            "{format}: hash"
        );
        assert!(
            !all.contains("raspberry"),
            "{format} output contains a recovered password"
        );
        for l in key_b64.iter().chain(host_key.iter()) {
            assert!(
                !all.contains(l.as_str()),
                "{format} output contains private key material"
            );
        }
        assert!(
            !all.contains("private 10.0"),
            "SNMP community lines are not echoed"
        );
    }
}

#[test]
fn accept_file_and_fail_on() {
    let t = factory_default();
    let accept = t.outside().join("accept.toml");
    std::fs::write(&accept, "[[accept]]\nrule = \"svc.telnet\"\nreason = \"telnet only on the isolated service VLAN behind the cell firewall (SP-7)\"\nexpires = 2099-12-31\n\n[[accept]]\nrule = \"cred.snmp-default-community\"\nsubject = \"publ*\"\nreason = \"read-only, filtered at the cell firewall\"\n\n[[accept]]\nrule = \"sysctl.aslr\"\nreason = \"expired waiver\"\nexpires = 2020-01-01\n").unwrap();
    let out = fieldattest(&[
        "scan",
        "--root",
        &t.root_str(),
        "--format",
        "json",
        "--accept",
        accept.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stderr).contains("sysctl.aslr expired"));
    let v = json_of(&out);
    let f: Vec<&Value> = v["findings"].as_array().unwrap().iter().collect();
    let telnet = f.iter().find(|f| f["rule"] == "svc.telnet").unwrap();
    assert_eq!(telnet["status"], "accepted");
    assert!(telnet["accepted_reason"].as_str().unwrap().contains("SP-7"));
    let snmp: Vec<&&Value> = f
        .iter()
        .filter(|f| f["rule"] == "cred.snmp-default-community")
        .collect();
    assert_eq!(snmp.iter().filter(|f| f["status"] == "accepted").count(), 1);
    assert!(f
        .iter()
        .any(|f| f["rule"] == "sysctl.aslr" && f["status"] == "fail"));
    let r = v["rules"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == "svc.telnet")
        .unwrap();
    assert_eq!(r["status"], "accepted");
    // Malformed accept file: exit 2 naming the file.
    std::fs::write(&accept, "[[accept]]\nrule = \"svc.telnet\"\n").unwrap();
    let out = fieldattest(&[
        "scan",
        "--root",
        &t.root_str(),
        "--accept",
        accept.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("accept.toml"));
    // --fail-on below every finding of a hardened device: exit 0.
    let h = hardened();
    let out = fieldattest(&["scan", "--root", &h.root_str(), "--fail-on", "critical"]);
    assert_eq!(out.status.code(), Some(0));
}

#[test]
fn rules_catalog_command() {
    let out = fieldattest(&["rules", "--format", "json"]);
    assert_eq!(out.status.code(), Some(0));
    let v = json_of(&out);
    let rules = v["rules"].as_array().unwrap();
    let ids: Vec<&str> = rules.iter().map(|r| r["id"].as_str().unwrap()).collect();
    assert_rule_catalog(&ids);
    for r in rules {
        assert!(
            r["requirements"]
                .as_array()
                .map(|a| !a.is_empty())
                .unwrap_or(false),
            "{r}"
        );
        assert!(r["fr"].as_str().unwrap().starts_with("FR"));
    }
    // The document is the catalog the collector ships for this version.
    let shipped = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(format!(
        "../protocol/catalog/fieldattest-{}.json",
        v["version"].as_str().unwrap()
    ));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        std::fs::read_to_string(&shipped).unwrap(),
        "{}",
        shipped.display()
    );
    let out = fieldattest(&["rules"]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("account.uid0-unique"));
}

#[test]
fn readme_rule_count_is_the_catalog_size() {
    let readme = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../README.md"),
    )
    .unwrap();
    // "`fieldattest rules` lists the catalog (67 rules; ..."
    let at = readme
        .find("lists the catalog (")
        .expect("README: the Rules section's \"lists the catalog (N rules\"")
        + "lists the catalog (".len();
    let n: usize = readme[at..]
        .split_once(" rules")
        .and_then(|(n, _)| n.trim().parse().ok())
        .expect("README: \"lists the catalog (N rules\"");
    let out = fieldattest(&["rules", "--format", "json"]);
    let v = json_of(&out);
    let catalog = v["rules"].as_array().unwrap().len();
    assert_eq!(
        n, catalog,
        "README says {n} rules, the catalog has {catalog}"
    );
    assert_eq!(n, committed_rule_ids().len());
}

/// A scan reports every rule of the catalog, once.
#[test]
fn a_scan_reports_every_rule_of_the_catalog_once() {
    let t = Tree::new();
    t.file("etc/passwd", "root:x:0:0::/root:/bin/sh\n");
    let out = fieldattest(&["scan", "--root", &t.root_str(), "--format", "json"]);
    let v = json_of(&out);
    let ids: Vec<&str> = v["rules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    let mut unique = ids.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), ids.len(), "a rule reported twice: {ids:?}");
    assert_rule_catalog(&ids);
}
