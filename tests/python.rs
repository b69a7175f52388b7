//! The Python package (python/): builds its extension module into the test virtualenv with
//! maturin and runs its pytest suite — the module against the CLI byte for byte, the shard
//! writer and merge, and Spark in local mode writing import folders locally and into a local S3
//! server. Needs scripts/install-test-tools.sh (maturin, pytest, pyarrow, pandas, PySpark,
//! moto); skipped without them, except under CI.

use std::path::Path;
use std::process::Command;

#[test]
fn python_package_tests_pass() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let venv = root.join(".venv");
    let python = venv.join("bin/python");
    let ready = python.exists()
        && Command::new(&python)
            .args(["-c", "import maturin, pytest, pyarrow, pyspark, pandas"])
            .status()
            .is_ok_and(|s| s.success());
    if !ready {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI must install the Python test tools (scripts/install-test-tools.sh)"
        );
        eprintln!("skipping: run scripts/install-test-tools.sh for maturin, pytest and PySpark");
        return;
    }
    let path = format!(
        "{}:{}",
        venv.join("bin").display(),
        std::env::var("PATH").unwrap_or_default()
    );
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
