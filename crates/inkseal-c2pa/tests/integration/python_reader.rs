//! The independent reader: c2pa-python (a different build of the C2PA SDK, through its C API)
//! reads a signed JPEG and PNG and must find them Valid (Trusted with our CA as anchor), the
//! soft binding with the right work ID bytes and the training-and-mining entries.

use std::path::{Path, PathBuf};
use std::process::Command;

use inkseal_c2pa::{Format, TRAINING_ENTRIES};
use serde_json::Value;

use crate::common::*;

const REQUIREMENTS: &str = "tests/c2pa-python-requirements.txt";

const SCRIPT: &str = r#"
import base64, json, sys
import c2pa
from importlib.metadata import version

anchors = open(sys.argv[1]).read()

def read(path, trust_anchors):
    cfg = {"verify": {"remote_manifest_fetch": False, "ocsp_fetch": False}}
    if trust_anchors is not None:
        cfg["trust"] = {"trust_anchors": trust_anchors}
    ctx = c2pa.Context(settings=c2pa.Settings.from_dict(cfg))
    with c2pa.Reader(path, context=ctx) as reader:
        state = reader.get_validation_state()
        results = reader.get_validation_results() or {}
        manifest = reader.get_active_manifest()
    failures = [s.get("code") for s in results.get("activeManifest", {}).get("failure", [])]
    return state, failures, manifest

def value_bytes(v):
    # c2pa-rs renders CBOR byte strings as base64 text (newer) or arrays of numbers (older).
    if isinstance(v, str):
        return base64.b64decode(v)
    return bytes(v)

out = []
for path in sys.argv[2:]:
    state_plain, failures_plain, manifest = read(path, None)
    state_anchored, failures_anchored, _ = read(path, anchors)
    assertions = {a["label"]: a["data"] for a in manifest["assertions"]}
    sb = assertions.get("c2pa.soft-binding")
    out.append({
        "path": path.rsplit("/", 1)[-1],
        "c2pa_python": version("c2pa-python"),
        "sdk": c2pa.sdk_version(),
        "state_without_anchor": state_plain,
        "failures_without_anchor": failures_plain,
        "state_with_our_ca": state_anchored,
        "failures_with_our_ca": failures_anchored,
        "soft_binding": sb,
        "soft_binding_value_hex": value_bytes(sb["blocks"][0]["value"]).hex() if sb else None,
        "training_mining": assertions.get("cawg.training-mining"),
        "actions": [a["action"] for a in assertions.get("c2pa.actions.v2", {}).get("actions", [])],
        "creator": (assertions.get("cawg.metadata") or {}).get("dc:creator"),
    })
print(json.dumps(out, indent=2))
"#;

fn venv_dir() -> PathBuf {
    std::env::var_os("INKSEAL_C2PA_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace().join("target").join("c2pa-venv"))
}

fn run(cmd: &mut Command, what: &str) -> String {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("{what}: could not run {cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{what} failed ({}):\n{}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The pinned version from the requirements file.
fn pinned_version() -> String {
    let text =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(REQUIREMENTS)).unwrap();
    text.lines()
        .find_map(|l| l.trim().strip_prefix("c2pa-python=="))
        .expect("c2pa-python pinned in the requirements file")
        .trim()
        .to_owned()
}

/// Makes sure `<workspace>/target/c2pa-venv` exists and holds the pinned c2pa-python.
fn ensure_venv() -> PathBuf {
    let venv = venv_dir();
    let python = venv.join("bin").join("python");
    if !python.exists() {
        match Command::new("python3").arg("--version").output() {
            Ok(o) if o.status.success() => {}
            _ => panic!(
                "python3 is required for the independent-reader test (c2pa-python): install \
                 python3 with venv support (Debian: apt-get install python3 python3-venv), or \
                 run .ci/run, which sets up {}",
                venv.display()
            ),
        }
        run(
            Command::new("python3").arg("-m").arg("venv").arg(&venv),
            "creating the c2pa-python virtual environment (needs python3-venv)",
        );
    }
    let want = pinned_version();
    let have = Command::new(&python)
        .args([
            "-c",
            "from importlib.metadata import version; print(version('c2pa-python'))",
        ])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned());
    if have.as_deref() != Some(want.as_str()) {
        run(
            Command::new(&python)
                .args(["-m", "pip", "install", "--quiet", "-r"])
                .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join(REQUIREMENTS)),
            "installing c2pa-python from PyPI",
        );
    }
    python
}

#[test]
fn c2pa_python_reads_our_jpeg_and_png() {
    let python = ensure_venv();
    let fx = fixture();
    let dir = tempfile::tempdir().unwrap();
    let ca = dir.path().join("ca.pem");
    std::fs::write(&ca, &fx.creds.ca_cert_pem).unwrap();

    // PNG with the default terms (training not allowed), JPEG with training allowed.
    let cases = images().map(|(format, name, bytes)| {
        let (id, allowed) = match format {
            Format::Png => (0x0123_4567_89ab_cdef_u64, false),
            _ => (0xfedc_ba98_7654_3210_u64, true),
        };
        let signed = fx.sign(&format, &bytes, &terms(id).with_training_allowed(allowed));
        let path = dir.path().join(format!("signed-{name}"));
        std::fs::write(&path, &signed.asset).unwrap();
        (format!("signed-{name}"), path, id, allowed)
    });

    let script = dir.path().join("read_with_c2pa_python.py");
    std::fs::write(&script, SCRIPT).unwrap();
    let mut cmd = Command::new(&python);
    cmd.arg(&script).arg(&ca);
    for (_, path, _, _) in &cases {
        cmd.arg(path);
    }
    let stdout = run(&mut cmd, "reading with c2pa-python");
    println!("c2pa-python says:\n{stdout}");
    let results: Vec<Value> = serde_json::from_str(&stdout).unwrap();
    assert_eq!(results.len(), 2);

    for ((name, _, id, allowed), r) in cases.iter().zip(&results) {
        assert_eq!(r["path"], name.as_str());
        assert_eq!(r["state_without_anchor"], "Valid", "{name}: {r:#}");
        assert_eq!(
            r["failures_without_anchor"],
            serde_json::json!(["signingCredential.untrusted"]),
            "{name}"
        );
        assert_eq!(r["state_with_our_ca"], "Trusted", "{name}: {r:#}");
        assert_eq!(r["failures_with_our_ca"], serde_json::json!([]), "{name}");

        assert_eq!(r["soft_binding"]["alg"], ALG, "{name}");
        assert_eq!(
            r["soft_binding"]["blocks"].as_array().map(Vec::len),
            Some(1)
        );
        assert_eq!(r["soft_binding_value_hex"], format!("{id:016x}"), "{name}");

        let entries = r["training_mining"]["entries"].as_object().unwrap();
        assert_eq!(entries.len(), 4, "{name}");
        let expected = if *allowed { "allowed" } else { "notAllowed" };
        for entry in TRAINING_ENTRIES {
            assert_eq!(entries[entry]["use"], expected, "{name} {entry}");
        }
        assert_eq!(
            r["actions"],
            serde_json::json!(["c2pa.created", "c2pa.watermarked.bound"])
        );
        assert_eq!(r["creator"], serde_json::json!(["Ada Artist"]));
    }
}
