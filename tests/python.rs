//! The Python package (python/): builds its extension module into the test virtualenv with
//! maturin and runs its pytest suite — the module against the CLI byte for byte, the shard
//! writer and merge, and Spark in local mode writing import folders locally and into a local S3
//! server, and Ray Data on a local cluster. Needs scripts/install-test-tools.sh (maturin,
//! pytest, pyarrow, pandas, PySpark, Ray, moto); skipped without them, except under CI.

use std::path::Path;
use std::path::PathBuf;
use std::process::Command;

/// The test virtualenv's Python, if it can import `modules`; `None` (the test skipped) when it
/// cannot, except under CI, where that is a failure.
fn test_python(modules: &str) -> Option<PathBuf> {
    let python = Path::new(env!("CARGO_MANIFEST_DIR")).join(".venv/bin/python");
    let ready = python.exists()
        && Command::new(&python)
            .args(["-c", &format!("import {modules}")])
            .status()
            .is_ok_and(|s| s.success());
    if ready {
        return Some(python);
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "CI must install {modules} (scripts/install-test-tools.sh)"
    );
    eprintln!("skipping: run scripts/install-test-tools.sh for {modules}");
    None
}

#[test]
#[ignore = "builds the extension and runs the pytest suite with Spark and Ray (minutes); the README's test command runs it with --include-ignored"]
fn python_package_tests_pass() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let venv = root.join(".venv");
    let Some(python) = test_python("maturin, pytest, pyarrow, pyspark, pandas, ray") else {
        return;
    };
    let path = format!(
        "{}:{}",
        venv.join("bin").display(),
        std::env::var("PATH").unwrap_or_default()
    );
    // The wheel's data folder (where build-wheel.sh puts the CLI) must exist for maturin.
    std::fs::create_dir_all(root.join("python/prep.data/scripts")).unwrap();
    let built = Command::new(&python)
        .args(["-m", "maturin", "develop", "--locked", "--quiet"])
        .current_dir(root.join("python"))
        .env("VIRTUAL_ENV", &venv)
        .env("PATH", &path)
        .status()
        .unwrap();
    assert!(built.success(), "maturin develop failed");
    let tests = Command::new(&python)
        .args(["-m", "pytest", "-q", "-p", "no:cacheprovider", "tests"])
        .current_dir(root.join("python"))
        .env("PREP_BIN", env!("CARGO_BIN_EXE_prep"))
        .env("PYSPARK_PYTHON", &python)
        .env("PATH", &path)
        .status()
        .unwrap();
    assert!(
        tests.success(),
        "the Python package's tests failed (output above)"
    );
}

/// The wheel `python/build-wheel.sh` builds carries the CLI and the module: installed with pip
/// into a fresh virtualenv, `prep` is a command and `import prep` works.
#[test]
#[ignore = "builds the release wheel (minutes); the README's test command runs it with --include-ignored"]
fn the_wheel_installs_the_cli_and_the_module() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let Some(python) = test_python("maturin") else {
        return;
    };
    let dist = tempfile::tempdir().unwrap();
    let built = Command::new(root.join("python/build-wheel.sh"))
        .env("OUT", dist.path())
        .env("PYTHON", &python)
        .status()
        .unwrap();
    assert!(built.success(), "build-wheel.sh failed");
    let wheel = std::fs::read_dir(dist.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|e| e == "whl"))
        .expect("a wheel");
    let venv = dist.path().join("venv");
    assert!(Command::new("python3")
        .args(["-m", "venv"])
        .arg(&venv)
        .status()
        .unwrap()
        .success());
    let pip = Command::new(venv.join("bin/pip"))
        .args(["install", "--quiet", "--disable-pip-version-check"])
        .arg(&wheel)
        .status()
        .unwrap();
    assert!(pip.success(), "pip install {}", wheel.display());
    let version = Command::new(venv.join("bin/prep"))
        .arg("--version")
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&version.stdout).trim(),
        format!("prep {}", env!("CARGO_PKG_VERSION"))
    );
    let module = Command::new(venv.join("bin/python"))
        .args([
            "-c",
            "import prep, pyarrow as pa; d, r, s = prep.encode(pa.record_batch({'pk': ['x', None]}), key='pk:S'); \
             assert d == b'{\"Item\":{\"pk\":{\"S\":\"x\"}}}\\n' and r[0]['code'] == 'K001', (d, r)",
        ])
        .status()
        .unwrap();
    assert!(module.success(), "the installed module");
}
