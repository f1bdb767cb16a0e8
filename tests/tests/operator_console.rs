//! The operator console in headless Chromium (Debian `chromium`, driven by
//! Debian's `chromedriver` over the W3C WebDriver protocol with curl):
//! sign in, read the fleet, approve a pending device after comparing its
//! kid; and CSRF attempts from pages of other origins (plain HTTP on
//! another port: cross-site; HTTPS on another port: same-site, other
//! origin) that auto-submit the approve form while the operator is signed
//! in — refused, nothing changed. Screenshots go to
//! `target/tmp/operator_console/`.

use fieldattest_tests::browser::{free_port, Browser, Proc};
use fieldattest_tests::collector::*;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn status(c: &Collector, id: i64) -> String {
    c.cli(&["device", &id.to_string()])["device"]["status"]
        .as_str()
        .unwrap()
        .to_string()
}

/// An attacker's page that auto-submits the approve form of device `id`
/// to the console (it cannot know the CSRF token).
fn attack_page(dir: &Path, c: &Collector, id: i64, kid: &str) {
    std::fs::write(
        dir.join("attack.html"),
        format!(
            "<!doctype html><html><body><h1>cute cats</h1>\
             <form method=post action=\"{}\">\
             <input type=hidden name=kid value=\"{kid}\">\
             <input type=hidden name=confirm value=yes></form>\
             <script>document.forms[0].submit()</script></body></html>",
            c.op_url(&format!("/devices/{id}/approve"))
        ),
    )
    .unwrap();
}

#[test]
fn console_sign_in_and_approve_in_chromium_and_csrf_from_other_origins_fails() {
    let c = start();
    let good = Device::new(None, 3);
    let bad = Device::new(None, 3);
    bad.tree.file(
        "etc/ssh/sshd_config",
        "PermitRootLogin yes\nPermitEmptyPasswords yes\n",
    );
    for d in [&good, &bad] {
        d.enroll(&c);
        assert_eq!(d.attest_online(&c).0, 200);
    }
    let newcomer = Device::new(None, 1);
    let pending = newcomer.enroll_pending(&c, "plant-3");
    let kid = c.cli(&["device", &pending.to_string()])["device"]["kid"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(c.add_user("alice", "operator", OPERATOR_PASSWORD).0, 0);

    let out = Path::new(env!("CARGO_TARGET_TMPDIR")).join("operator_console");
    // Screenshots of an earlier run must not stand in for this run's.
    let _ = std::fs::remove_dir_all(&out);
    let b = Browser::start(&out);

    // Not signed in: no fleet, a sign-in link.
    b.goto(&c.op_url("/"));
    let src = b.source();
    assert!(
        src.contains("sign in first") && !src.contains("class=\"device\""),
        "{src}"
    );
    // Sign in.
    b.goto(&c.op_url("/login"));
    b.type_into("input[name=name]", "alice");
    b.type_into("input[name=password]", OPERATOR_PASSWORD);
    b.screenshot("01-login.png");
    b.click("#login button");
    let src = b.wait_for("signed in as");
    assert_eq!(b.url(), c.op_url("/"));
    assert_eq!(b.text("#who"), "operator alice");
    assert!(
        src.contains("ssh.permit-empty-passwords"),
        "failing device's findings missing from the top risks: {src}"
    );
    b.screenshot("02-overview.png");
    b.goto(&c.op_url("/devices"));
    let src = b.wait_for("id=\"devices\"");
    assert_eq!(src.matches("class=\"device\"").count(), 3, "{src}");
    b.screenshot("02-devices.png");

    // CSRF: pages of other origins auto-submit the approve form.
    let www = tempfile::tempdir().unwrap();
    attack_page(www.path(), &c, pending, &kid);
    // (a) plain HTTP on another port (cross-site: the SameSite=Strict
    //     cookie is not even sent).
    let http_port = free_port();
    let _http = Proc(
        Command::new("python3")
            .args([
                "-m",
                "http.server",
                "--bind",
                "127.0.0.1",
                &http_port.to_string(),
                "--directory",
            ])
            .arg(www.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("python3 http.server"),
    );
    // (b) HTTPS on another port of the same host (same-site, another
    //     origin: the cookie is sent; Sec-Fetch-Site, Origin and the missing
    //     CSRF token refuse it).
    let https_port = free_port();
    let _https = Proc(
        Command::new("openssl")
            .args([
                "s_server",
                "-quiet",
                "-WWW",
                "-accept",
                &https_port.to_string(),
                "-cert",
            ])
            .arg(c.dir.path().join("srv.pem"))
            .arg("-key")
            .arg(c.dir.path().join("srv.key"))
            .current_dir(www.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("openssl s_server"),
    );
    for (n, origin, port, refusal) in [
        // Cross-site: no session cookie arrives.
        (3, "http", http_port, "sign in first"),
        // Same-site: the cookie arrives; Sec-Fetch-Site/Origin refuse it.
        (4, "https", https_port, "cross-site request refused"),
    ] {
        let url = format!("{origin}://127.0.0.1:{port}/attack.html");
        let t0 = Instant::now();
        while !Command::new("curl")
            .args(["-skf", "-o", "/dev/null", &url])
            .status()
            .unwrap()
            .success()
        {
            assert!(t0.elapsed() < Duration::from_secs(20), "{url} not served");
            std::thread::sleep(Duration::from_millis(100));
        }
        let t0 = Instant::now();
        loop {
            b.goto(&url);
            // Wait until the auto-submitted form's answer is shown.
            if !b.source().contains("cute cats") || t0.elapsed() > Duration::from_secs(10) {
                break;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        let src = b.wait_for("id=\"error\"");
        assert_eq!(b.url(), c.op_url(&format!("/devices/{pending}/approve")));
        assert!(src.contains(refusal), "{origin}: {src}");
        b.screenshot(&format!("0{n}-csrf-{origin}.png"));
        assert_eq!(
            status(&c, pending),
            "pending",
            "CSRF from {origin} approved the device"
        );
    }
    let trail = c.cli(&["audit", "--limit", "100"]).to_string();
    assert!(trail.contains("csrf-refused"), "{trail}");
    assert!(!trail.contains("operator approve by operator"), "{trail}");

    // Approve on the console: the enroll page lists the pending device, its
    // page shows the kid to compare.
    b.goto(&c.op_url("/enroll"));
    b.click("#pending a");
    b.wait_for("id=\"approve\"");
    assert_eq!(
        b.text("#kid"),
        kid,
        "the page's kid differs from the device's"
    );
    assert_eq!(b.text("#status"), "pending");
    // Without the confirmation the browser does not submit (required box).
    b.click("#approve button");
    assert_eq!(status(&c, pending), "pending");
    b.click("#approve input[name=confirm]");
    b.screenshot("05-approve.png");
    b.click("#approve button");
    let src = b.wait_for("<td id=\"status\">active</td>");
    assert!(!src.contains("id=\"approve\""), "{src}");
    b.screenshot("06-approved.png");
    assert_eq!(status(&c, pending), "active");
    let trail = c.cli(&["audit", "--limit", "100"]).to_string();
    assert!(
        trail.contains("operator approve by operator alice"),
        "{trail}"
    );
    // The approved device attests.
    assert_eq!(newcomer.attest_online(&c).0, 200);
    for f in [
        "01-login.png",
        "02-overview.png",
        "02-devices.png",
        "03-csrf-http.png",
        "04-csrf-https.png",
        "06-approved.png",
    ] {
        assert!(out.join(f).metadata().unwrap().len() > 1000, "{f}");
    }
}

// The same tests with the collector on PostgreSQL.
fieldattest_tests::on_postgres_too!(
    console_sign_in_and_approve_in_chromium_and_csrf_from_other_origins_fails,
);
