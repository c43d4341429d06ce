//! Framework objects: the handle table, parent/child links, typed contexts and deletion.
//!
//! The handle table reuses the slots of deleted objects, so a long run holds as many slots as
//! it ever had objects alive at once (plus a small quarantine), not one per object it ever
//! created. An [`Id`] carries its slot's generation: deleting an object bumps the generation,
//! so every id and handle of the deleted object stops resolving (a stale handle is still
//! `BADHANDLE`, a stale event finds no object) even after the slot holds a new object.

use std::collections::{HashMap, VecDeque};

use super::{State, dma, io};
use crate::mirror::constants::STATUS_INFO_LENGTH_MISMATCH;
use crate::mirror::types::{_WDF_EXECUTION_LEVEL, _WDF_SYNCHRONIZATION_SCOPE, NTSTATUS};
use crate::mirror::types::{GUID, PFN_WDF_INTERRUPT_DPC, PFN_WDF_INTERRUPT_ISR};
use crate::mirror::types::{
    PCWDF_OBJECT_CONTEXT_TYPE_INFO, PFN_WDF_OBJECT_CONTEXT_CLEANUP, PFN_WDF_OBJECT_CONTEXT_DESTROY,
    WDF_DEVICE_IO_TYPE, WDF_OBJECT_ATTRIBUTES, WDF_PNPPOWER_EVENT_CALLBACKS,
};
use crate::mirror::types::{PFN_WDF_DRIVER_DEVICE_ADD, PFN_WDF_DRIVER_UNLOAD, PFN_WDF_TIMER};
use crate::verifier::Severity;

/// An object's identity: its slot in the handle table (low [`SLOT_BITS`] bits) and the slot's
/// generation when the object was created (the bits above).
pub(crate) type Id = usize;

/// First handle value.
///
/// Handles are `BASE + id * STRIDE`, so they look like pointers and a small integer or a null
/// is never a valid handle. The largest id (`2^36 - 1`) gives a handle
/// below `0x7E00_0000_0000`, still a canonical user-mode address.
const BASE: usize = 0x0000_7A00_0000_0000;
const STRIDE: usize = 0x40;

/// Bits of an [`Id`] that number the slot: at most 2^20 objects alive at once.
const SLOT_BITS: u32 = 20;
/// Slots the table may hold.
const MAX_SLOTS: usize = 1 << SLOT_BITS;
/// Generations a slot counts through before the count wraps to 0.
const GENERATIONS: usize = 1 << 16;
/// Free slots held back from reuse.
///
/// Freed slots wait, oldest reused first, until more than this many are free: a slot is then
/// reused at most once per `QUARANTINE` deletions, so a stale handle resolves to a new object
/// only after `GENERATIONS * QUARANTINE` (2^26) deletions, far beyond any driver's bug.
const QUARANTINE: usize = 1024;

/// The slot part of an id.
const fn slot_of(id: Id) -> usize {
    id & (MAX_SLOTS - 1)
}

/// The generation part of an id.
const fn generation_of(id: Id) -> usize {
    id >> SLOT_BITS
}

/// One entry of the handle table.
struct Slot {
    generation: usize,
    object: Option<Object>,
}

/// The handle table: objects by slot, and the slots free for reuse.
pub(crate) struct Objects {
    slots: Vec<Slot>,
    free: VecDeque<usize>,
    live: usize,
}

impl Objects {
    pub(crate) const fn new() -> Self {
        Self {
            slots: Vec::new(),
            free: VecDeque::new(),
            live: 0,
        }
    }

    /// Stores an object in a free (or new) slot; returns its id.
    fn insert(&mut self, object: Object) -> Id {
        let reuse = if self.free.len() > QUARANTINE || self.slots.len() >= MAX_SLOTS {
            self.free.pop_front()
        } else {
            None
        };
        let slot = match reuse {
            Some(slot) => slot,
            None => self.grow(),
        };
        let generation = self.slots.get(slot).map_or(0, |s| s.generation);
        if let Some(entry) = self.slots.get_mut(slot) {
            entry.object = Some(object);
        }
        self.live += 1;
        (generation << SLOT_BITS) | slot
    }

    /// Appends an empty slot; returns its number.
    ///
    /// # Panics
    /// With 2^20 objects alive at once: a runaway test, not a state worth simulating.
    fn grow(&mut self) -> usize {
        assert!(
            self.slots.len() < MAX_SLOTS,
            "kmdf-sim: more than {MAX_SLOTS} framework objects alive at once"
        );
        self.slots.push(Slot {
            generation: 0,
            object: None,
        });
        self.slots.len() - 1
    }

    fn get(&self, id: Id) -> Option<&Object> {
        self.slots
            .get(slot_of(id))
            .filter(|s| s.generation == generation_of(id))
            .and_then(|s| s.object.as_ref())
    }

    fn get_mut(&mut self, id: Id) -> Option<&mut Object> {
        self.slots
            .get_mut(slot_of(id))
            .filter(|s| s.generation == generation_of(id))
            .and_then(|s| s.object.as_mut())
    }

    /// Takes the object out; its id (and handle) dies with it and the slot becomes free.
    fn take(&mut self, id: Id) -> Option<Object> {
        let slot = slot_of(id);
        let entry = self
            .slots
            .get_mut(slot)
            .filter(|s| s.generation == generation_of(id))?;
        let object = entry.object.take()?;
        entry.generation = (entry.generation + 1) % GENERATIONS;
        self.free.push_back(slot);
        self.live -= 1;
        Some(object)
    }

    /// The live objects, in slot order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = &Object> {
        self.slots.iter().filter_map(|s| s.object.as_ref())
    }

    /// The live objects with their ids, in slot order.
    pub(crate) fn iter_ids(&self) -> impl Iterator<Item = (Id, &Object)> {
        self.slots.iter().enumerate().filter_map(|(slot, s)| {
            s.object
                .as_ref()
                .map(|object| ((s.generation << SLOT_BITS) | slot, object))
        })
    }

    /// Slots the table holds (live objects plus free slots).
    pub(crate) const fn slots(&self) -> usize {
        self.slots.len()
    }

    /// Objects alive.
    pub(crate) const fn live(&self) -> usize {
        self.live
    }
}

/// Handle value of an object.
pub(crate) const fn handle(id: Id) -> usize {
    BASE + id * STRIDE
}

/// Object id of a handle value, if it has the shape of one.
pub(crate) const fn id_of(handle: usize) -> Option<Id> {
    if handle < BASE || !(handle - BASE).is_multiple_of(STRIDE) {
        return None;
    }
    Some((handle - BASE) / STRIDE)
}

/// Kinds of framework objects, with their per-kind state.
pub(crate) enum Kind {
    Driver {
        device_add: PFN_WDF_DRIVER_DEVICE_ADD,
        unload: PFN_WDF_DRIVER_UNLOAD,
    },
    Device(Box<Device>),
    Queue(Box<io::Queue>),
    Request(Box<io::Request>),
    Interrupt(Box<Interrupt>),
    Enabler(Box<dma::Enabler>),
    Transaction(Box<dma::Transaction>),
    CommonBuffer(Box<dma::CommonBuffer>),
    SpinLock {
        holder: bool,
    },
    Timer(Box<Timer>),
    ResList {
        descriptors: Vec<crate::mirror::types::CM_PARTIAL_RESOURCE_DESCRIPTOR>,
    },
    /// An open registry key (`WdfDriverOpenParametersRegistryKey`).
    RegistryKey {
        /// `DesiredAccess` of the open.
        access: u32,
    },
}

impl Kind {
    /// The WDF type name, for messages.
    pub(crate) const fn name(&self) -> &'static str {
        match self {
            Self::Driver { .. } => "WDFDRIVER",
            Self::Device(_) => "WDFDEVICE",
            Self::Queue(_) => "WDFQUEUE",
            Self::Request(_) => "WDFREQUEST",
            Self::Interrupt(_) => "WDFINTERRUPT",
            Self::Enabler(_) => "WDFDMAENABLER",
            Self::Transaction(_) => "WDFDMATRANSACTION",
            Self::CommonBuffer(_) => "WDFCOMMONBUFFER",
            Self::SpinLock { .. } => "WDFSPINLOCK",
            Self::Timer(_) => "WDFTIMER",
            Self::ResList { .. } => "WDFCMRESLIST",
            Self::RegistryKey { .. } => "WDFKEY",
        }
    }
}

/// Memory of an object's typed context.
pub(crate) struct Context {
    pub(crate) memory: Box<[u128]>,
    pub(crate) type_info: usize,
}

/// One framework object.
pub(crate) struct Object {
    pub(crate) kind: Kind,
    pub(crate) parent: Option<Id>,
    pub(crate) children: Vec<Id>,
    pub(crate) context: Option<Context>,
    pub(crate) cleanup: PFN_WDF_OBJECT_CONTEXT_CLEANUP,
    pub(crate) destroy: PFN_WDF_OBJECT_CONTEXT_DESTROY,
    /// Created by the driver (as opposed to by the framework for the driver: requests,
    /// resource lists), so counted by the leak check and the hot-path counters.
    pub(crate) driver_created: bool,
}

/// State kept for `PWDFDEVICE_INIT` between `EvtDriverDeviceAdd` and `WdfDeviceCreate`.
#[derive(Default)]
pub(crate) struct DeviceInit {
    pub(crate) pnp: Option<WDF_PNPPOWER_EVENT_CALLBACKS>,
    pub(crate) io_type: WDF_DEVICE_IO_TYPE,
    pub(crate) hw: usize,
    pub(crate) consumed: bool,
}

/// Power/PnP state of a device.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum DevicePower {
    /// Created, hardware not prepared.
    Added,
    /// Hardware prepared, not in D0.
    Prepared,
    /// Working.
    D0,
    /// Removed (surprise or orderly); callbacks done.
    Removed,
}

/// The `FX_VALIDATE_OPTION_*` flags a creation DDI passes to `FxValidateObjectAttributes`
/// (`fxvalidatefunctions.hpp`), for [`State::attributes_check`].
pub(crate) mod validate {
    /// `FX_VALIDATE_OPTION_NONE_SPECIFIED`.
    pub(crate) const NONE: u32 = 0;
    /// `FX_VALIDATE_OPTION_PARENT_NOT_ALLOWED`.
    pub(crate) const PARENT_NOT_ALLOWED: u32 = 0x1;
    /// `FX_VALIDATE_OPTION_EXECUTION_LEVEL_ALLOWED`.
    pub(crate) const EXECUTION_LEVEL_ALLOWED: u32 = 0x2;
    /// `FX_VALIDATE_OPTION_SYNCHRONIZATION_SCOPE_ALLOWED`.
    pub(crate) const SYNCHRONIZATION_SCOPE_ALLOWED: u32 = 0x4;
    /// `FX_VALIDATE_OPTION_PARENT_REQUIRED` (attributes and a parent required).
    pub(crate) const PARENT_REQUIRED: u32 = 0x18;
}

/// A WDFDEVICE.
pub(crate) struct Device {
    pub(crate) pnp: WDF_PNPPOWER_EVENT_CALLBACKS,
    pub(crate) io_type: WDF_DEVICE_IO_TYPE,
    pub(crate) hw: usize,
    pub(crate) power: DevicePower,
    pub(crate) queues: Vec<Id>,
    pub(crate) default_queue: Option<Id>,
    pub(crate) dispatch: HashMap<i32, Id>,
    pub(crate) interrupts: Vec<Id>,
    pub(crate) interfaces: Vec<GUID>,
    /// The interfaces are enabled: the device has started and not been removed.
    pub(crate) interfaces_enabled: bool,
    pub(crate) alignment: u32,
    /// DMA v2 packet slot (§2.6.4): the transaction between Execute and its final completion.
    pub(crate) packet_slot: Option<Id>,
    pub(crate) resources: Option<(Id, Id)>,
}

/// A WDFINTERRUPT.
#[expect(
    clippy::struct_excessive_bools,
    reason = "independent flags of the framework's interrupt state"
)]
pub(crate) struct Interrupt {
    pub(crate) device: Id,
    pub(crate) isr: PFN_WDF_INTERRUPT_ISR,
    pub(crate) dpc: PFN_WDF_INTERRUPT_DPC,
    pub(crate) connected: bool,
    pub(crate) dpc_queued: bool,
    pub(crate) lock_held: bool,
    pub(crate) isr_pending: bool,
    pub(crate) storm: u32,
    /// Created in `EvtDevicePrepareHardware`: the framework deletes it after release.
    pub(crate) from_prepare: bool,
}

/// A WDFTIMER.
pub(crate) struct Timer {
    pub(crate) callback: PFN_WDF_TIMER,
    pub(crate) period_ms: u32,
    pub(crate) generation: u64,
    pub(crate) queued: bool,
    pub(crate) running: bool,
}

impl State {
    /// Creates an object and links it to its parent.
    pub(crate) fn create(&mut self, kind: Kind, parent: Option<Id>, driver_created: bool) -> Id {
        let id = self.objects.insert(Object {
            kind,
            parent,
            children: Vec::new(),
            context: None,
            cleanup: None,
            destroy: None,
            driver_created,
        });
        if let Some(parent) = parent.and_then(|p| self.obj_mut(p)) {
            parent.children.push(id);
        }
        if driver_created {
            self.stats.objects_created += 1;
        }
        id
    }

    pub(crate) fn obj(&self, id: Id) -> Option<&Object> {
        self.objects.get(id)
    }

    pub(crate) fn obj_mut(&mut self, id: Id) -> Option<&mut Object> {
        self.objects.get_mut(id)
    }

    /// Resolves a handle, reporting `WDF_INVALID_HANDLE` (bugcheck 0x10D/0x5) when it is not
    /// a live object of the expected kind.
    pub(crate) fn resolve(
        &mut self,
        raw: usize,
        ddi: &'static str,
        want: &'static str,
    ) -> Option<Id> {
        let found = id_of(raw).and_then(|id| self.obj(id).map(|o| (id, o.kind.name())));
        match found {
            Some((id, name)) if name == want || want == "WDFOBJECT" => Some(id),
            Some((_, name)) => {
                self.finding(
                    "BADHANDLE",
                    Severity::Fatal,
                    format!("{ddi}: handle {raw:#x} is a {name}, not a {want}"),
                );
                None
            }
            None => {
                self.finding(
                    "BADHANDLE",
                    Severity::Fatal,
                    format!(
                        "{ddi}: {raw:#x} is not a live {want} (null, deleted or never created)"
                    ),
                );
                None
            }
        }
    }

    /// Validates `WDF_OBJECT_ATTRIBUTES` before a creation DDI makes its object, as KMDF's
    /// `FxValidateObjectAttributes` (and `...ForParentHandle` for a required parent) does with
    /// the DDI's `FX_VALIDATE_OPTION_*` flags ([`validate`]): a wrong `Size`, a parent where the
    /// DDI allows none or none where it requires one, an execution level or synchronization
    /// scope out of range (`Invalid`, 0, included: attributes not made with
    /// `WDF_OBJECT_ATTRIBUTES_INIT`) or set where the object takes none. Each is reported, and
    /// the DDI fails with KMDF's status without creating anything.
    pub(crate) fn attributes_check(
        &mut self,
        ddi: &'static str,
        attributes: Option<&WDF_OBJECT_ATTRIBUTES>,
        flags: u32,
    ) -> Result<(), NTSTATUS> {
        use super::io::wdf_status;
        let refuse = |s: &mut Self, status: NTSTATUS, why: String| {
            s.finding("ATTRIBUTES", Severity::Error, format!("{ddi}: {why}"));
            Err(status)
        };
        let Some(a) = attributes else {
            if flags & validate::PARENT_REQUIRED != 0 {
                return refuse(
                    self,
                    wdf_status::PARENT_NOT_SPECIFIED,
                    "WDF_OBJECT_ATTRIBUTES with a ParentObject are required".into(),
                );
            }
            return Ok(());
        };
        if a.Size as usize != core::mem::size_of::<WDF_OBJECT_ATTRIBUTES>() {
            return refuse(
                self,
                STATUS_INFO_LENGTH_MISMATCH,
                format!("WDF_OBJECT_ATTRIBUTES.Size is {}", a.Size),
            );
        }
        if flags & validate::PARENT_NOT_ALLOWED != 0 && !a.ParentObject.is_null() {
            // The DMA objects have rules of their own for it (T1, C1).
            let rule = match ddi {
                "WdfDmaTransactionCreate" => "T1",
                "WdfCommonBufferCreate" => "C1",
                _ => "ATTRIBUTES",
            };
            self.finding(
                rule,
                Severity::Error,
                format!("{ddi}: ParentObject must not be set"),
            );
            return Err(wdf_status::PARENT_NOT_ALLOWED);
        }
        if flags & validate::PARENT_REQUIRED != 0 && a.ParentObject.is_null() {
            return refuse(
                self,
                wdf_status::PARENT_NOT_SPECIFIED,
                "ParentObject is required".into(),
            );
        }
        let level = a.ExecutionLevel;
        if level == _WDF_EXECUTION_LEVEL::WdfExecutionLevelInvalid
            || level > _WDF_EXECUTION_LEVEL::WdfExecutionLevelDispatch
        {
            return refuse(
                self,
                wdf_status::ATTRIBUTES_INVALID,
                format!(
                    "ExecutionLevel {level} is out of range (WDF_OBJECT_ATTRIBUTES_INIT sets InheritFromParent)"
                ),
            );
        }
        let scope = a.SynchronizationScope;
        if scope == _WDF_SYNCHRONIZATION_SCOPE::WdfSynchronizationScopeInvalid
            || scope > _WDF_SYNCHRONIZATION_SCOPE::WdfSynchronizationScopeNone
        {
            return refuse(
                self,
                wdf_status::ATTRIBUTES_INVALID,
                format!(
                    "SynchronizationScope {scope} is out of range (WDF_OBJECT_ATTRIBUTES_INIT sets InheritFromParent)"
                ),
            );
        }
        if flags & validate::SYNCHRONIZATION_SCOPE_ALLOWED == 0
            && scope != _WDF_SYNCHRONIZATION_SCOPE::WdfSynchronizationScopeInheritFromParent
            && scope != _WDF_SYNCHRONIZATION_SCOPE::WdfSynchronizationScopeNone
        {
            return refuse(
                self,
                wdf_status::SYNCHRONIZATION_SCOPE_INVALID,
                format!("this object takes no SynchronizationScope (got {scope})"),
            );
        }
        if flags & validate::EXECUTION_LEVEL_ALLOWED == 0
            && level != _WDF_EXECUTION_LEVEL::WdfExecutionLevelInheritFromParent
        {
            return refuse(
                self,
                wdf_status::EXECUTION_LEVEL_INVALID,
                format!("this object takes no ExecutionLevel (got {level})"),
            );
        }
        Ok(())
    }

    /// Applies validated `WDF_OBJECT_ATTRIBUTES` (see [`State::attributes_check`]) to a new
    /// object: context and cleanup callbacks.
    pub(crate) fn apply_attributes(&mut self, id: Id, attributes: Option<&WDF_OBJECT_ATTRIBUTES>) {
        let Some(attributes) = attributes else {
            return;
        };
        let info: PCWDF_OBJECT_CONTEXT_TYPE_INFO = attributes.ContextTypeInfo;
        let context = if info.is_null() {
            None
        } else {
            // The driver's type info is a static it owns; read its size and unique type.
            let (size, unique) = crate::mirror::read_type_info(info);
            let size = size.max(attributes.ContextSizeOverride);
            Some(Context {
                memory: vec![0u128; size.div_ceil(16).max(1)].into_boxed_slice(),
                type_info: unique,
            })
        };
        if let Some(object) = self.obj_mut(id) {
            object.context = context;
            object.cleanup = attributes.EvtCleanupCallback;
            object.destroy = attributes.EvtDestroyCallback;
        }
    }

    /// Pointer to an object's context of the given unique type, or null.
    pub(crate) fn context_of(&mut self, raw: usize, type_info: usize) -> *mut u8 {
        let Some(id) = self.resolve(raw, "WdfObjectGetTypedContextWorker", "WDFOBJECT") else {
            return core::ptr::null_mut();
        };
        match self.obj_mut(id).and_then(|o| o.context.as_mut()) {
            Some(context) if context.type_info == type_info => context.memory.as_mut_ptr().cast(),
            _ => {
                self.finding(
                    "CONTEXT",
                    Severity::Error,
                    format!("WdfObjectGetTypedContextWorker: object {raw:#x} has no context of that type"),
                );
                core::ptr::null_mut()
            }
        }
    }

    /// Ids of an object and all its descendants, children first (deletion order).
    pub(crate) fn subtree(&self, id: Id) -> Vec<Id> {
        let mut out = Vec::new();
        let mut stack = vec![(id, false)];
        while let Some((current, expanded)) = stack.pop() {
            if expanded {
                out.push(current);
                continue;
            }
            stack.push((current, true));
            if let Some(object) = self.obj(current) {
                for child in object.children.iter().rev() {
                    stack.push((*child, false));
                }
            }
        }
        out
    }

    /// Removes an object from the table (after its cleanup callback ran) and unlinks it.
    pub(crate) fn remove(&mut self, id: Id) -> Option<Object> {
        let object = self.objects.take(id)?;
        if let Some(parent) = object.parent.and_then(|p| self.obj_mut(p)) {
            parent.children.retain(|c| *c != id);
        }
        Some(object)
    }
}

#[cfg(test)]
#[expect(
    clippy::missing_panics_doc,
    reason = "tests panic to fail; check-private-items makes clippy ask #[test] fns for docs"
)]
mod tests {
    use super::*;
    use crate::sim::Policy;

    fn lock(s: &mut State) -> Id {
        s.create(Kind::SpinLock { holder: false }, None, true)
    }

    #[test]
    fn a_deleted_object_handle_is_badhandle_even_after_its_slot_is_reused() {
        let mut s = State::new(1, Policy::default());
        let first = lock(&mut s);
        assert_eq!(s.resolve(handle(first), "test", "WDFSPINLOCK"), Some(first));
        assert!(s.remove(first).is_some());
        assert!(s.remove(first).is_none(), "removed once");
        // Churn until the slot of `first` holds a new object.
        let mut reused = None;
        for _ in 0..4 * QUARANTINE {
            let id = lock(&mut s);
            if slot_of(id) == slot_of(first) {
                reused = Some(id);
                break;
            }
            s.remove(id);
        }
        let reused = reused.expect("the slot is reused once the quarantine is full");
        assert_ne!(reused, first, "a new generation, so a new id and handle");
        assert_eq!(generation_of(reused), generation_of(first) + 1);
        assert!(s.obj(first).is_none(), "the stale id finds nothing");
        assert!(s.findings.is_empty());
        assert_eq!(
            s.resolve(handle(first), "WdfSpinLockAcquire", "WDFSPINLOCK"),
            None
        );
        let finding = s.findings.last().expect("a finding");
        assert_eq!(
            (finding.rule, finding.severity),
            ("BADHANDLE", Severity::Fatal)
        );
        assert!(
            finding.message.contains("not a live WDFSPINLOCK"),
            "{finding}"
        );
        assert_eq!(
            s.resolve(handle(reused), "test", "WDFSPINLOCK"),
            Some(reused),
            "the new object's handle works"
        );
    }

    #[test]
    fn the_table_holds_what_is_alive_at_once_plus_the_quarantine() {
        let mut s = State::new(2, Policy::default());
        let kept: Vec<Id> = (0..3).map(|_| lock(&mut s)).collect();
        for round in 0..20 * QUARANTINE {
            let a = lock(&mut s);
            let b = lock(&mut s);
            s.remove(a);
            s.remove(b);
            assert!(
                s.objects.slots() <= kept.len() + QUARANTINE + 2,
                "round {round}: {} slots",
                s.objects.slots()
            );
        }
        assert_eq!(s.objects.live(), kept.len());
        assert_eq!(s.objects.iter().count(), kept.len());
        for id in kept {
            assert!(s.obj(id).is_some(), "live objects keep their ids");
        }
        assert_eq!(s.stats.objects_created, 3 + 40 * QUARANTINE as u64);
    }

    #[test]
    fn generations_wrap_and_handles_stay_in_the_pointer_like_range() {
        let largest = ((GENERATIONS - 1) << SLOT_BITS) | (MAX_SLOTS - 1);
        assert!(handle(largest) < 0x0000_7E00_0000_0000);
        assert_eq!(id_of(handle(largest)), Some(largest));
        let mut table = Objects::new();
        let make = || Object {
            kind: Kind::SpinLock { holder: false },
            parent: None,
            children: Vec::new(),
            context: None,
            cleanup: None,
            destroy: None,
            driver_created: false,
        };
        let old = table.insert(make());
        // Fast-forward the slot to its last generation: the next deletion wraps it to 0.
        if let Some(entry) = table.slots.get_mut(slot_of(old)) {
            entry.generation = GENERATIONS - 1;
        }
        let last = (GENERATIONS - 1) << SLOT_BITS | slot_of(old);
        assert!(table.get(old).is_none(), "generation moved on");
        assert!(table.get(last).is_some());
        assert!(table.take(last).is_some());
        assert_eq!(table.slots.get(slot_of(old)).map(|e| e.generation), Some(0));
        assert!(table.get(last).is_none() && table.get(old).is_none());
        // Fill the quarantine so the wrapped slot (the oldest free one) is reused.
        let others: Vec<Id> = (0..QUARANTINE).map(|_| table.insert(make())).collect();
        for other in &others {
            assert!(table.take(*other).is_some());
        }
        let reused = table.insert(make());
        assert_eq!(
            reused, old,
            "generation 0 again, after 2^16 deletions in that slot"
        );
        assert!(others.iter().all(|id| table.get(*id).is_none()));
        assert_eq!(table.slots(), QUARANTINE + 1);
        assert_eq!(table.live(), 1);
    }
}
