//! Property tests of the parsers that read untrusted input (stable Rust, part of `cargo test`;
//! the cargo-fuzz targets in `fuzz/` explore the same parsers longer): the config loader, the
//! duration parser, the Dockerfile, Trivy and JUnit readers, the manifest splitter, the Redis
//! reply reader, the OCI auth-challenge parser, the server's format negotiation and the URL
//! scrubber.

use std::time::Duration;

use nexus_readiness::__fuzz;
use nexus_readiness::config::Config;
use nexus_readiness::model::duration;
use nexus_readiness::probe::{Redactor, Secret, Verdict, scrub_urls};
use nexus_readiness::probes::file::{DockerfileProbe, JunitProbe, TrivyProbe};
use proptest::prelude::*;

/// Arbitrary text biased towards the characters the parsers split on.
fn texty() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "[ -~\n\t]{0,200}",
        proptest::collection::vec(
            prop_oneof![
                Just("${env:X}".to_string()),
                Just("\n".to_string()),
                Just("=".to_string()),
                Just("\"".to_string()),
                Just("[".to_string()),
                Just("]".to_string()),
                Just("://".to_string()),
                Just("@".to_string()),
                Just("?sig=".to_string()),
                Just("---\n".to_string()),
                Just("FROM ".to_string()),
                Just("<testsuite>".to_string()),
                "[a-z0-9. ]{0,8}",
            ],
            0..40
        )
        .prop_map(|v| v.concat()),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    // ---- durations ----------------------------------------------------------------------

    #[test]
    fn durations_round_trip(nanos in 0u64..=u64::MAX) {
        let d = Duration::from_nanos(nanos).min(duration::MAX);
        prop_assert_eq!(duration::parse(&duration::format(d)).unwrap(), d);
    }

    #[test]
    fn duration_parts_add_up(h in 0u64..1000, m in 0u64..1000, s in 0u64..1000, ms in 0u64..1000) {
        let d = duration::parse(&format!("{h}h{m}m {s}s{ms}ms")).unwrap();
        prop_assert_eq!(d, Duration::from_secs(h * 3600 + m * 60 + s) + Duration::from_millis(ms));
    }

    #[test]
    fn any_duration_text_is_parsed_or_refused(text in texty(), big in any::<u128>(), unit in "(ns|us|ms|s|m|h|d|w)") {
        if let Ok(d) = duration::parse(&text) {
            prop_assert!(d <= duration::MAX);
        }
        let huge = format!("{big}{unit}");
        if let Ok(d) = duration::parse(&huge) {
            prop_assert!(d <= duration::MAX);
        }
    }

    // ---- file readers -------------------------------------------------------------------

    #[test]
    fn dockerfile_evaluation_never_panics(text in texty()) {
        let obs = DockerfileProbe::new("Dockerfile").evaluate("Dockerfile", &text);
        prop_assert!(obs.summary.starts_with("Dockerfile"));
    }

    #[test]
    fn multi_stage_dockerfiles_are_recognised(stages in 2usize..6, user in "[a-z]{1,8}") {
        let mut text = String::new();
        for i in 0..stages {
            text.push_str(&format!("FROM rust:1.95@sha256:{} AS s{i}\nRUN make\n", "a".repeat(64)));
        }
        text.push_str(&format!("USER {user}\n"));
        let obs = DockerfileProbe::new("Dockerfile").evaluate("Dockerfile", &text);
        prop_assert!(!obs.summary.contains("single-stage"), "{}", obs.summary);
    }

    #[test]
    fn trivy_reading_never_panics(text in texty()) {
        let _ = TrivyProbe::new("trivy.json").evaluate("trivy.json", &text);
    }

    #[test]
    fn junit_reading_never_panics(text in texty()) {
        let _ = JunitProbe::new("junit.xml").evaluate("junit.xml", &text);
    }

    #[test]
    fn junit_failures_fail(pass in 0usize..20, fail in 0usize..5) {
        let mut xml = String::from("<testsuite>");
        for i in 0..pass {
            xml.push_str(&format!("<testcase name=\"ok{i}\"/>"));
        }
        for i in 0..fail {
            xml.push_str(&format!("<testcase name=\"bad{i}\"><failure message=\"boom\"/></testcase>"));
        }
        xml.push_str("</testsuite>");
        let obs = JunitProbe::new("junit.xml").evaluate("junit.xml", &xml).unwrap();
        prop_assert_eq!(obs.verdict == Verdict::Fail, fail > 0 || pass + fail == 0, "{}", obs.summary);
    }

    // ---- Redis replies ------------------------------------------------------------------

    #[test]
    fn redis_reader_never_panics_and_ends_with_an_error(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
        let replies = __fuzz::redis_replies(&bytes);
        prop_assert!(replies.last().is_some_and(Result::is_err));
        prop_assert!(replies[..replies.len() - 1].iter().all(Result::is_ok));
    }

    #[test]
    fn valid_redis_replies_are_read_back(items in proptest::collection::vec(
        prop_oneof![
            "[A-Za-z ]{0,20}".prop_map(|s| (format!("+{s}\r\n"), format!("status `{s}`"))),
            any::<i64>().prop_map(|i| (format!(":{i}\r\n"), format!("integer {i}"))),
            "[a-z]{0,30}".prop_map(|s| (format!("${}\r\n{s}\r\n", s.len()), format!("bulk string `{s}`"))),
            Just(("$-1\r\n".to_string(), "null".to_string())),
        ],
        0..10,
    )) {
        let wire: String = items.iter().map(|(w, _)| w.as_str()).collect();
        let replies = __fuzz::redis_replies(wire.as_bytes());
        prop_assert_eq!(replies.len(), items.len() + 1);
        for ((_, want), got) in items.iter().zip(&replies) {
            prop_assert_eq!(got.as_ref().ok(), Some(want));
        }
    }

    // ---- the URL scrubber and the redactor ----------------------------------------------

    #[test]
    fn scrubbed_urls_hold_no_credentials(
        user in "[a-z]{1,8}",
        password in "[A-Za-z0-9]{6,16}",
        secret in "[A-Za-z0-9/+=]{6,24}",
        param in prop_oneof![
            Just("sig"), Just("X-Amz-Signature"), Just("X-Amz-Credential"), Just("code"),
            Just("access_token"), Just("api_key"), Just("password"), Just("X-Goog-Signature"),
        ],
        host in "[a-z]{1,10}\\.example\\.com",
        page in 0u32..100,
    ) {
        let encoded: String = secret.bytes().map(|b| match b {
            b'/' => "%2F".to_string(),
            b'+' => "%2B".to_string(),
            b'=' => "%3D".to_string(),
            b => (b as char).to_string(),
        }).collect();
        let url = format!("https://{user}:{password}@{host}/p?page={page}&{param}={encoded}#frag");
        let text = format!("GET {url} failed");
        let out = scrub_urls(&text);
        prop_assert!(!out.contains(&password), "{}", out);
        prop_assert!(!out.contains(&encoded), "{}", out);
        prop_assert!(out.contains(&format!("page={page}")), "{}", out);
        prop_assert!(out.contains(host.as_str()), "{}", out);
        prop_assert_eq!(scrub_urls(&out), out.clone());
    }

    #[test]
    fn scrubbing_is_idempotent_and_total(text in texty()) {
        let once = scrub_urls(&text);
        prop_assert_eq!(scrub_urls(&once), once);
    }

    #[test]
    fn redactor_hides_secrets_in_every_encoding(secret in "[ -~]{4,24}", before in "[a-z ]{0,10}") {
        let mut r = Redactor::new();
        r.add(&Secret::new(secret.clone()));
        let upper: String = secret.bytes().map(|b| if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            (b as char).to_string()
        } else {
            format!("%{b:02X}")
        }).collect();
        for form in [secret.clone(), upper.clone(), upper.to_lowercase_hex()] {
            let out = r.redact(&format!("{before}{form}"));
            prop_assert!(!out.contains(&form), "{} in {}", form, out);
        }
    }

}

/// Lower-case hex digits in `%XX` escapes.
trait LowerHex {
    fn to_lowercase_hex(&self) -> String;
}

impl LowerHex for String {
    fn to_lowercase_hex(&self) -> String {
        let mut out = String::with_capacity(self.len());
        let mut chars = self.chars();
        while let Some(c) = chars.next() {
            out.push(c);
            if c == '%' {
                for _ in 0..2 {
                    if let Some(h) = chars.next() {
                        out.push(h.to_ascii_lowercase());
                    }
                }
            }
        }
        out
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    // ---- the config loader --------------------------------------------------------------

    #[test]
    fn any_config_text_loads_or_gives_a_located_error(text in texty()) {
        const MARK: &str = "ENVVALUE7q";
        match Config::loader().env_source(|n| Some(format!("{MARK}-{n}"))).from_str(&text, "fuzz.toml") {
            Ok(c) => {
                let _ = c.plan(nexus_readiness::builtin::nexus());
            }
            Err(e) => {
                let shown = e.to_string();
                prop_assert!(shown.starts_with("fuzz.toml"), "{}", shown);
                if !text.contains(MARK) {
                    prop_assert!(!shown.contains(MARK), "{}", shown);
                }
            }
        }
    }

    #[test]
    fn env_values_in_any_field_are_never_echoed(
        section in prop_oneof![
            Just("[runner]\nconcurrency = @"),
            Just("[runner]\ntimeout = @"),
            Just("[runner]\nphases = [@]"),
            Just("[targets.redis]\naddress = @"),
            Just("[targets.redis]\naddress = \"h:1\"\ntimeout = @"),
            Just("[targets.smoke_test]\nprogram = \"true\"\nexpect_exit = [@]"),
            Just("[targets.smoke_test]\nprogram = \"true\"\ncapture = @"),
            Just("[targets.dockerfile]\npath = \"D\"\nmin_stages = @"),
        ],
        value in "[A-Za-z0-9_./:@-]{4,30}",
    ) {
        let text = section.replace('@', "\"${env:V}\"");
        let v = value.clone();
        if let Err(e) = Config::loader().env_source(move |_| Some(v.clone())).from_str(&text, "nexus.toml") {
            let shown = format!("{e} {e:?}");
            prop_assert!(!shown.contains(&value), "{}", shown);
        }
    }
}

#[cfg(feature = "http")]
proptest! {
    // ---- OCI challenges -----------------------------------------------------------------

    #[test]
    fn oci_challenges_round_trip(
        scheme in "(Bearer|Basic|bearer)",
        params in proptest::collection::vec(("[a-zA-Z]{1,8}", "[A-Za-z0-9:/._ -]{0,20}"), 0..5),
    ) {
        let text = params.iter().map(|(k, v)| format!("{k}=\"{v}\"")).collect::<Vec<_>>().join(",");
        let header = format!("{scheme} {text}");
        let (got_scheme, got) = __fuzz::oci_challenge(&header);
        prop_assert_eq!(got_scheme, scheme.to_ascii_lowercase());
        let want: Vec<(String, String)> = params.iter().map(|(k, v)| (k.to_ascii_lowercase(), v.clone())).collect();
        prop_assert_eq!(got, want);
    }

    #[test]
    fn oci_challenge_parser_never_panics(text in texty()) {
        let (scheme, params) = __fuzz::oci_challenge(&text);
        prop_assert_eq!(scheme.clone(), scheme.to_ascii_lowercase());
        for (k, _) in params {
            prop_assert_eq!(k.clone(), k.to_ascii_lowercase());
        }
    }
}

#[cfg(feature = "kube")]
proptest! {
    #[test]
    fn manifest_streams_never_panic(text in texty()) {
        let mut snap = nexus_readiness::probes::kube::Snapshot::default();
        let _ = nexus_readiness::probes::kube::manifest::load_str(
            &mut snap,
            std::path::Path::new("deploy.yaml"),
            &text,
            "default",
        );
    }
}

#[cfg(feature = "server")]
proptest! {
    #[test]
    fn explicit_format_query_wins(accept in texty(), f in "(json|markdown|junit|tap|prometheus|rst)") {
        let chosen = nexus_readiness::server::negotiate(Some(&accept), Some(&format!("x=1&format={f}")));
        prop_assert_eq!(chosen, f.parse().ok());
    }

    #[test]
    fn negotiation_never_panics(accept in texty(), query in texty()) {
        let _ = nexus_readiness::server::negotiate(Some(&accept), Some(&query));
        prop_assert_eq!(nexus_readiness::server::negotiate(None, None), Some(nexus_readiness::report::Format::Json));
    }
}
