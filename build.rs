//! Build script.
//!
//! On a Windows build host it configures the KMDF build with `wdk-build` (link paths, linker
//! arguments, `cfg`s) and places a copy of `inf/edu_dma.inx` at the crate root, where both
//! `cargo make` and `cargo wdk build` look for `<crate_name>.inx`. On any other host, or when the
//! target is simulated (`--cfg kmdf_sim`), there is nothing to configure: the driver compiles
//! against the `kmdf-sim` mirror.

#[cfg(windows)]
fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!("cargo::rerun-if-changed=inf/edu_dma.inx");
    if std::env::var_os("CARGO_CFG_KMDF_SIM").is_some() {
        return Ok(());
    }
    let root = std::path::PathBuf::from(std::env::var("CARGO_MANIFEST_DIR")?);
    let source = std::fs::read(root.join("inf").join("edu_dma.inx"))?;
    let copy = root.join("edu_dma.inx");
    if std::fs::read(&copy).ok().as_deref() != Some(source.as_slice()) {
        std::fs::write(&copy, source)?;
    }
    wdk_build::configure_wdk_binary_build()?;
    Ok(())
}

#[cfg(not(windows))]
fn main() {
    println!("cargo::rerun-if-changed=build.rs");
}
