//! Build script.
//!
//! On a Windows build host, unless the target is simulated (`--cfg kmdf_sim`), it configures
//! this crate as a WDK library with `wdk-build` (the `cfg`s and check-cfgs of the WDK
//! configuration; linking is the driver binary's build script's job). On any other host there
//! is nothing to configure: the crate compiles against the `kmdf-sim` mirror.

#[cfg(windows)]
fn main() -> Result<(), wdk_build::ConfigError> {
    println!("cargo::rerun-if-changed=build.rs");
    if std::env::var_os("CARGO_CFG_KMDF_SIM").is_some() {
        return Ok(());
    }
    wdk_build::configure_wdk_library_build()
}

#[cfg(not(windows))]
fn main() {
    println!("cargo::rerun-if-changed=build.rs");
}
