//! IRQL as types.
//!
//! Trampolines hand callbacks a zero-sized token naming the IRQL KMDF documents for that
//! callback; each wrapper asks for the token that matches its DDI's
//! maximum IRQL. Tokens cannot be cloned, sent to another thread, or kept past the callback.
//!
//! Trampolines lend their token mutably (`&mut`), so that whatever raises the IRQL (a spin
//! lock, the interrupt lock) can borrow it for as long as the IRQL stays raised and lend a
//! token for the raised level instead: a token that would be false meanwhile cannot be used.
//! Calls that do not raise the IRQL take tokens by shared reference (a `&mut` token coerces).

use core::marker::PhantomData;

/// Lifetime and thread marker shared by the tokens.
type Marker<'cb> = PhantomData<(&'cb (), *mut ())>;

/// Asserts, where the IRQL can be observed (the simulator), that it matches a token.
fn debug_check(expected: &'static str, ok: impl Fn(u8) -> bool) {
    if let Some(irql) = super::sys::observed_irql() {
        debug_assert!(ok(irql), "{expected} token created at IRQL {irql}");
    }
}

/// Running at PASSIVE_LEVEL.
pub struct Passive<'cb>(Marker<'cb>);
/// Running at DISPATCH_LEVEL.
pub struct Dispatch<'cb>(Marker<'cb>);
/// Running at PASSIVE_LEVEL or DISPATCH_LEVEL, unknown which.
pub struct UpToDispatch<'cb>(Marker<'cb>);
/// Running at the device's DIRQL with the interrupt lock held.
pub struct Dirql<'cb>(Marker<'cb>);

impl Passive<'_> {
    /// # Safety
    /// The current IRQL is PASSIVE_LEVEL for the token's lifetime.
    pub(crate) unsafe fn new() -> Self {
        debug_check("Passive", |irql| irql == 0);
        Self(PhantomData)
    }

    /// Lends this token as an [`UpToDispatch`] one, for code shared with callbacks at
    /// DISPATCH_LEVEL (taking a [`SpinLock`](super::sync::SpinLock), say). The PASSIVE token
    /// stays borrowed while the lent one (or a lock guard holding it) lives, so no
    /// PASSIVE_LEVEL-only call can be made at the raised IRQL.
    pub fn up_to_dispatch(&mut self) -> UpToDispatch<'_> {
        // SAFETY: PASSIVE_LEVEL (this token) is at most DISPATCH_LEVEL; anything that raises the
        // IRQL while the lent token lives borrows it, and this token is borrowed meanwhile.
        unsafe { UpToDispatch::new() }
    }
}

impl Dispatch<'_> {
    /// # Safety
    /// The current IRQL is DISPATCH_LEVEL for the token's lifetime.
    pub(crate) unsafe fn new() -> Self {
        debug_check("Dispatch", |irql| irql == 2);
        Self(PhantomData)
    }
}

impl UpToDispatch<'_> {
    /// # Safety
    /// The current IRQL is at most DISPATCH_LEVEL for the token's lifetime.
    pub(crate) unsafe fn new() -> Self {
        debug_check("UpToDispatch", |irql| irql <= 2);
        Self(PhantomData)
    }
}

impl Dirql<'_> {
    /// # Safety
    /// The current IRQL is the device's DIRQL, with its interrupt lock held, for the token's
    /// lifetime.
    pub(crate) unsafe fn new() -> Self {
        debug_check("Dirql", |irql| irql > 2);
        Self(PhantomData)
    }
}

mod sealed {
    pub trait Sealed {}
    impl Sealed for super::Passive<'_> {}
    impl Sealed for super::Dispatch<'_> {}
    impl Sealed for super::UpToDispatch<'_> {}
}

/// Tokens of contexts at or below DISPATCH_LEVEL.
///
/// DDIs allowed at `<= DISPATCH_LEVEL` ask for one. [`Dirql`] does not implement it, so DMA and request DDIs cannot be called from the
/// ISR or under the interrupt lock.
///
/// ```compile_fail
/// # use kmdf_safe::{irql::{AtMostDispatch, Dirql}};
/// fn needs(_: &impl AtMostDispatch) {}
/// fn isr(cx: &Dirql<'_>) { needs(cx) }
/// ```
pub trait AtMostDispatch: sealed::Sealed {}
impl AtMostDispatch for Passive<'_> {}
impl AtMostDispatch for Dispatch<'_> {}
impl AtMostDispatch for UpToDispatch<'_> {}

/// Tokens whose claim stays true when the IRQL is raised to DISPATCH_LEVEL: [`Dispatch`] and
/// [`UpToDispatch`], not [`Passive`].
///
/// A spin lock raises the IRQL to DISPATCH_LEVEL while held, so it may borrow one of these
/// tokens shared: using it under the lock is still right. A [`Passive`] token becomes false
/// there, so it has to be lent first with [`Passive::up_to_dispatch`], which borrows it
/// mutably until the lock guard is dropped.
///
/// ```compile_fail
/// # use kmdf_safe::irql::{Passive, TrueAtDispatch};
/// fn needs(_: &impl TrueAtDispatch) {}
/// fn passive(cx: &Passive<'_>) { needs(cx) } // Passive: TrueAtDispatch is not satisfied
/// ```
pub trait TrueAtDispatch: AtMostDispatch {}
impl TrueAtDispatch for Dispatch<'_> {}
impl TrueAtDispatch for UpToDispatch<'_> {}

#[cfg(all(test, debug_assertions))]
mod tests {
    use super::*;

    /// Where the IRQL can be observed (the simulator; no machine: PASSIVE_LEVEL), a token
    /// made at the wrong level fails its debug check.
    #[test]
    #[should_panic(expected = "Dispatch token created at IRQL 0")]
    fn a_dispatch_token_made_at_passive_level_is_caught() {
        // SAFETY: deliberately broken (PASSIVE_LEVEL here, no machine): the debug check must
        // stop it before the token exists; no DDI is called.
        let _cx = unsafe { Dispatch::new() };
    }

    #[test]
    fn a_passive_token_made_at_passive_level_passes() {
        // SAFETY: a test thread with no simulated machine runs at PASSIVE_LEVEL.
        let _cx = unsafe { Passive::new() };
    }
}
