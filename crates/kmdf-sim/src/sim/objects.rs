//! Framework objects: the handle table, parent/child links, typed contexts and deletion.

use std::collections::HashMap;

use super::{State, dma, io};
use crate::mirror::types::{GUID, PFN_WDF_INTERRUPT_DPC, PFN_WDF_INTERRUPT_ISR};
use crate::mirror::types::{
    PCWDF_OBJECT_CONTEXT_TYPE_INFO, PFN_WDF_OBJECT_CONTEXT_CLEANUP, PFN_WDF_OBJECT_CONTEXT_DESTROY,
    WDF_DEVICE_IO_TYPE, WDF_OBJECT_ATTRIBUTES, WDF_PNPPOWER_EVENT_CALLBACKS,
};
use crate::mirror::types::{PFN_WDF_DRIVER_DEVICE_ADD, PFN_WDF_DRIVER_UNLOAD, PFN_WDF_TIMER};
use crate::verifier::Severity;

/// Index of an object in the handle table.
pub(crate) type Id = usize;

/// First handle value; handles are `BASE + id * STRIDE`, so they look like pointers and a
/// small integer or a null is never a valid handle.
const BASE: usize = 0x0000_7A00_0000_0000;
const STRIDE: usize = 0x40;

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
        let id = self.objects.len();
        self.objects.push(Some(Object {
            kind,
            parent,
            children: Vec::new(),
            context: None,
            cleanup: None,
            destroy: None,
            driver_created,
        }));
        if let Some(parent) = parent.and_then(|p| self.obj_mut(p)) {
            parent.children.push(id);
        }
        if driver_created {
            self.stats.objects_created += 1;
        }
        id
    }

    pub(crate) fn obj(&self, id: Id) -> Option<&Object> {
        self.objects.get(id).and_then(Option::as_ref)
    }

    pub(crate) fn obj_mut(&mut self, id: Id) -> Option<&mut Object> {
        self.objects.get_mut(id).and_then(Option::as_mut)
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

    /// Validates `WDF_OBJECT_ATTRIBUTES` before a creation DDI makes its object, as KMDF does
    /// (`FxValidateObjectAttributes`): a wrong `Size` is reported and the DDI must fail with
    /// `STATUS_INFO_LENGTH_MISMATCH` without creating anything.
    pub(crate) fn attributes_valid(
        &mut self,
        ddi: &'static str,
        attributes: Option<&WDF_OBJECT_ATTRIBUTES>,
    ) -> bool {
        match attributes {
            Some(a) if a.Size as usize != core::mem::size_of::<WDF_OBJECT_ATTRIBUTES>() => {
                self.finding(
                    "ATTRIBUTES",
                    Severity::Error,
                    format!("{ddi}: WDF_OBJECT_ATTRIBUTES.Size is {}", a.Size),
                );
                false
            }
            _ => true,
        }
    }

    /// Applies validated `WDF_OBJECT_ATTRIBUTES` (see [`State::attributes_valid`]) to a new
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
        let object = self.objects.get_mut(id).and_then(Option::take)?;
        if let Some(parent) = object.parent.and_then(|p| self.obj_mut(p)) {
            parent.children.retain(|c| *c != id);
        }
        Some(object)
    }
}
