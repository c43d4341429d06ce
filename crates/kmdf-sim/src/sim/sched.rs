//! Several processors: activities as stackful coroutines on the test's own thread, switch
//! points, locks that really exclude, deadlock and lock-order findings.
//!
//! Every call into the driver runs as an *activity*: a coroutine placed on a processor. A
//! processor runs only the top activity of its stack; an activity nested above another (an ISR
//! above a DPC, a DPC above a thread at PASSIVE_LEVEL) runs to its end before the one below
//! resumes. All coroutines run on one OS thread, so the thread-local machine state stays the
//! one state; `State::irql`, `held` and `context` always describe the running processor (or the
//! test itself when no activity runs) and are swapped in and out of [`Cpu`] on every switch.
//!
//! A running activity reaches a *switch point* at every DDI entry and return, every register
//! access, every lock acquire and release and every instrumented atomic operation. There the
//! schedule, drawn from the seed, may suspend it: control returns to the test's stack, which
//! resumes the top activity of some processor or starts the next due event (virtual time may
//! advance while activities are suspended: a processor can be slow). Two policies: a random
//! walk (switch with a fixed probability at each point) and PCT (random priorities, a few
//! change points that demote the running activity). Both draw only from the scheduler's own
//! generator, so a single processor with the serial schedule makes exactly the choices the
//! simulator made before it had several processors, and any run replays from its seed.
//!
//! No `with` borrow is ever held across a switch: every function here borrows, decides,
//! releases, and only then suspends.

use std::cell::{Cell, RefCell};
use std::collections::{HashMap, HashSet};

use corosensei::stack::DefaultStack;
use corosensei::{Coroutine, CoroutineResult, Yielder};

use super::objects::{Id, handle};
use super::rng::Rng;
use super::{Event, Held, Irql, State, with};
use crate::verifier::Severity;

/// How the machine's processors are scheduled.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Schedule {
    /// One callback at a time, each run to its end: the simulator as it was with one
    /// processor. Switch points cost nothing.
    #[default]
    Serial,
    /// At every switch point, suspend the running activity with probability
    /// `switch_percent`/100 and let the seed pick what runs next.
    RandomWalk {
        /// Probability (out of 100) of a switch at each point.
        switch_percent: u64,
    },
    /// Probabilistic concurrency testing: each activity gets a random priority, the highest
    /// runnable one runs, and at `depth` change points drawn from the seed the running one is
    /// demoted below every other.
    Pct {
        /// Number of change points.
        depth: u32,
    },
}

impl Schedule {
    /// A schedule drawn from a test's generator: a random walk or PCT, with their parameters.
    pub fn draw(rng: &mut Rng) -> Self {
        if rng.chance(1, 2) {
            Self::RandomWalk {
                switch_percent: 2 + rng.below(40),
            }
        } else {
            Self::Pct {
                depth: 1 + u32::try_from(rng.below(4)).unwrap_or(0),
            }
        }
    }
}

/// Over how many switch points PCT spreads its change points.
const PCT_HORIZON: u64 = 400;

/// Size of an activity's stack (reserved address space; pages are committed on use).
const STACK_SIZE: usize = 1 << 20;

/// One activity on a processor's stack.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Act {
    /// Slot of its coroutine in the thread's table.
    slot: usize,
    /// The lock it spins on, when blocked.
    blocked: Option<Id>,
    /// PCT priority (higher runs first).
    priority: u64,
    /// The callback it runs, for findings.
    name: &'static str,
}

/// One processor.
#[derive(Debug, Default)]
pub(crate) struct Cpu {
    irql: Option<Irql>,
    held: Vec<Held>,
    context: Vec<&'static str>,
    stack: Vec<Act>,
}

/// What a test attached to a driver's DDI entry (`Machine::cancel_at_ddi`,
/// `Machine::stall_at_ddi`).
#[derive(Debug)]
pub(crate) enum AtDdi {
    /// Queue this event for now.
    Event(Event),
    /// Hold the processor for this many nanoseconds of virtual time.
    Stall(u64),
}

/// A processor held at a DDI entry ([`AtDdi`]): nothing runs or starts on it meanwhile.
#[derive(Debug, Clone, Copy)]
struct Hold {
    cpu: usize,
    /// A stall lasts until this virtual time; an attached event's hold until the other
    /// processors have nothing left to do now.
    until: u64,
    stall: bool,
}

/// The scheduler's part of the machine state.
#[derive(Debug)]
pub(crate) struct Sched {
    cpus: Vec<Cpu>,
    /// The processor whose activity runs; `None` on the test's own stack.
    pub(crate) current: Option<usize>,
    root_irql: Irql,
    root_held: Vec<Held>,
    root_context: Vec<&'static str>,
    rng: Rng,
    pub(crate) schedule: Schedule,
    /// Probability (out of 100) that a switch point lets virtual time run to the next event.
    slow_percent: u64,
    /// The last switch point let virtual time run to the next event.
    late: bool,
    points: u64,
    change_points: Vec<u64>,
    /// Which processor holds each lock (spin locks and interrupt locks).
    owner: HashMap<Id, usize>,
    /// First site at which each ordered pair of locks was taken (outer, inner).
    order: HashMap<(Id, Id), String>,
    reported: HashSet<(Id, Id)>,
    /// DDI entries made by the driver's activities so far (`Machine::ddi_entries`).
    pub(crate) ddi_entries: u64,
    /// What a test attached to a DDI entry: the entry number that fires each.
    at_ddi: Vec<(u64, AtDdi)>,
    /// The processor held at the DDI entry where an attachment fired.
    hold: Option<Hold>,
}

impl Sched {
    pub(crate) fn new(seed: u64, processors: usize, schedule: Schedule) -> Self {
        let mut rng = Rng::new(seed ^ 0x5CED_0123_4567_89AB);
        let mut change_points = Vec::new();
        if let Schedule::Pct { depth } = schedule {
            for _ in 0..depth {
                change_points.push(rng.below(PCT_HORIZON));
            }
            change_points.sort_unstable();
        }
        let slow_percent = if matches!(schedule, Schedule::Serial) {
            0
        } else {
            2 + rng.below(10)
        };
        Self {
            cpus: (0..processors.max(1)).map(|_| Cpu::default()).collect(),
            current: None,
            root_irql: Irql::Passive,
            root_held: Vec::new(),
            root_context: Vec::new(),
            rng,
            schedule,
            slow_percent,
            late: false,
            points: 0,
            change_points,
            owner: HashMap::new(),
            order: HashMap::new(),
            reported: HashSet::new(),
            ddi_entries: 0,
            at_ddi: Vec::new(),
            hold: None,
        }
    }

    /// Number of processors.
    pub(crate) const fn processors(&self) -> usize {
        self.cpus.len()
    }

    /// Whether an activity is in flight on some processor.
    pub(crate) fn busy(&self) -> bool {
        self.cpus.iter().any(|c| !c.stack.is_empty())
    }
}

/// An index in `0..len` drawn from `rng`.
fn pick(rng: &mut Rng, len: usize) -> usize {
    usize::try_from(rng.below(len as u64)).unwrap_or(0)
}

/// What the test's stack does next.
enum Action {
    Resume(usize),
    Start(usize, Event),
    Inline(Event),
    Deadlock,
    Nothing,
}

/// Where an event may run.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Class {
    /// No driver call: handled on the test's stack.
    Inline,
    /// An ISR: above any processor at or below DISPATCH_LEVEL.
    Isr,
    /// A DPC, timer, I/O or cancel callback, grant: an idle processor, or above a thread at
    /// PASSIVE_LEVEL.
    Low,
}

const fn class(event: &Event) -> Class {
    match event {
        Event::Device { .. } => Class::Inline,
        Event::Isr { .. } => Class::Isr,
        _ => Class::Low,
    }
}

impl State {
    fn cpu_irql(&self, cpu: usize) -> Irql {
        if self.sched.current == Some(cpu) {
            return self.irql;
        }
        self.sched
            .cpus
            .get(cpu)
            .and_then(|c| c.irql)
            .unwrap_or(Irql::Passive)
    }

    fn top(&self, cpu: usize) -> Option<Act> {
        self.sched
            .cpus
            .get(cpu)
            .and_then(|c| c.stack.last().copied())
    }

    fn runnable(&self) -> Vec<usize> {
        (0..self.sched.cpus.len())
            .filter(|&c| self.sched.hold.is_none_or(|hold| hold.cpu != c))
            .filter(|&c| self.top(c).is_some_and(|a| a.blocked.is_none()))
            .collect()
    }

    /// Attaches `what` to the driver's `nth` DDI entry from now (1: the next).
    pub(crate) fn at_ddi_entry(&mut self, nth: u64, what: AtDdi) {
        let entry = self.sched.ddi_entries + nth.max(1);
        self.sched.at_ddi.push((entry, what));
    }

    /// At a DDI entry of the running activity: counts it, and when an attached event is due
    /// here, queues it for now and holds this processor. True when the activity must suspend.
    fn at_ddi(&mut self) -> bool {
        let Some(cpu) = self.sched.current else {
            return false;
        };
        self.sched.ddi_entries += 1;
        let entry = self.sched.ddi_entries;
        let due: Vec<AtDdi> = {
            let (due, rest) = std::mem::take(&mut self.sched.at_ddi)
                .into_iter()
                .partition(|(at, _)| *at == entry);
            self.sched.at_ddi = rest;
            due.into_iter().map(|(_, what)| what).collect()
        };
        if due.is_empty() || self.halted {
            return false;
        }
        let mut until = self.now;
        let mut stall = false;
        for what in due {
            match what {
                AtDdi::Event(event) => self.schedule(0, event),
                AtDdi::Stall(ns) => {
                    let ns = if self.irql >= Irql::Dispatch {
                        ns.min(self.policy.dispatch_stall_ns)
                    } else {
                        ns
                    };
                    until = until.max(self.now.saturating_add(ns));
                    stall = true;
                }
            }
        }
        // One processor held at a time. A stall firing on another processor while one is
        // held for an event takes over: that event's processor had work to do, and now waits
        // for the stall (so a cancel callback can be slowed at its own calls while the
        // processor it interrupted goes on). Otherwise a second attachment only queues its
        // event.
        match self.sched.hold {
            Some(held) if !stall || held.stall => return false,
            _ => {}
        }
        self.sched.hold = Some(Hold { cpu, until, stall });
        true
    }

    /// Processors on which an event of class `class` may start now (never a held one).
    fn placements(&self, class: Class) -> Vec<usize> {
        let many = self.sched.cpus.len() > 1;
        (0..self.sched.cpus.len())
            .filter(|&c| self.sched.hold.is_none_or(|hold| hold.cpu != c))
            .filter(|&c| match self.top(c) {
                None => true,
                Some(top) if top.blocked.is_some() => false,
                Some(_) => {
                    let irql = self.cpu_irql(c);
                    match class {
                        Class::Isr => irql <= Irql::Dispatch,
                        Class::Low => many && irql == Irql::Passive,
                        Class::Inline => true,
                    }
                }
            })
            .collect()
    }

    /// Whether an activity in flight runs at DISPATCH_LEVEL or above.
    fn raised_activity(&self) -> bool {
        self.sched.cpus.iter().enumerate().any(|(index, cpu)| {
            let irql = if self.sched.current == Some(index) {
                self.irql
            } else {
                cpu.irql.unwrap_or(Irql::Passive)
            };
            !cpu.stack.is_empty() && irql >= Irql::Dispatch
        })
    }

    /// Whether the next event may start now (due, or the seed lets time run), and where.
    fn startable(&self, late: bool) -> Option<(Class, Vec<usize>)> {
        self.startable_at(self.now, late)
    }

    /// [`Self::startable`] as it would answer at virtual time `now`.
    fn startable_at(&self, now: u64, late: bool) -> Option<(Class, Vec<usize>)> {
        let (&key, event) = self.queue.iter().next()?;
        let class = class(event);
        if key.0 > now && !late {
            return None;
        }
        // A processor at DISPATCH_LEVEL or above is slow only for a moment: a DPC or ISR held
        // up for long would be a DPC watchdog violation (0x133) on Windows, so time runs past
        // such an activity only to events close by.
        if key.0 > now && key.0 - now > self.policy.dispatch_stall_ns && self.raised_activity() {
            return None;
        }
        let places = if class == Class::Inline {
            Vec::new()
        } else {
            self.placements(class)
        };
        if class != Class::Inline && places.is_empty() {
            return None;
        }
        Some((class, places))
    }

    /// At a switch point of the running activity: whether to suspend it.
    fn at_point(&mut self) -> bool {
        let Some(cpu) = self.sched.current else {
            return false;
        };
        self.sched.points += 1;
        let others = self.runnable().into_iter().any(|c| c != cpu);
        match self.sched.schedule {
            Schedule::Serial => false,
            Schedule::RandomWalk { switch_percent } => {
                if !self.sched.rng.chance(switch_percent, 100) {
                    return false;
                }
                others || self.late_start()
            }
            Schedule::Pct { .. } => {
                let point = self.sched.points;
                let demote = self.sched.change_points.iter().position(|&p| p == point);
                if let Some(index) = demote
                    && let Some(top) = self
                        .sched
                        .cpus
                        .get_mut(cpu)
                        .and_then(|c| c.stack.last_mut())
                {
                    top.priority = index as u64;
                }
                let mine = self.top(cpu).map_or(0, |a| a.priority);
                let higher = self
                    .runnable()
                    .into_iter()
                    .any(|c| c != cpu && self.top(c).is_some_and(|a| a.priority > mine));
                higher || self.late_start()
            }
        }
    }

    /// Whether the next event is due by `until` and may start then.
    fn due_by(&self, until: u64) -> bool {
        let Some(&(time, _, _)) = self.queue.keys().next() else {
            return false;
        };
        if time > until {
            return false;
        }
        self.startable_at(self.now.max(time), false).is_some()
    }

    /// Whether the next event may start now, letting virtual time run to it when the seed
    /// says this processor is slow; the answer holds for the next [`Self::next_action`].
    fn late_start(&mut self) -> bool {
        let late = self.sched.rng.chance(self.sched.slow_percent, 100);
        let ok = self.startable(late).is_some();
        self.sched.late = ok && late;
        ok
    }

    /// On the test's stack: what to run next. `events`: whether new events may start.
    fn next_action(&mut self, events: bool) -> Action {
        // A stalled processor goes on once virtual time reaches the end of its stall. A held
        // one waits while the others have work due by then (the attached event included);
        // when they have none, a stall's remaining time passes at once (nothing is due in it),
        // except while no event may start (the time then is not the stall's to take).
        if let Some(hold) = self.sched.hold {
            if hold.stall && self.now >= hold.until {
                self.sched.hold = None;
            } else if self.runnable().is_empty()
                && (!events || self.halted || !self.due_by(hold.until))
            {
                self.sched.hold = None;
                if hold.stall && events && !self.halted {
                    self.now = self.now.max(hold.until);
                }
            }
        }
        let runnable = self.runnable();
        if self.halted && runnable.is_empty() {
            return Action::Nothing;
        }
        let start = if events && !self.halted {
            if runnable.is_empty() {
                // Nothing runs: the next event is due now, whatever its time.
                self.queue.keys().next().map(|k| k.0).and_then(|t| {
                    let saved = self.now;
                    self.now = self.now.max(t);
                    let found = self.startable(false);
                    self.now = saved;
                    found
                })
            } else {
                let late = std::mem::take(&mut self.sched.late);
                self.startable(late)
            }
        } else {
            None
        };
        if runnable.is_empty() && start.is_none() {
            return if self.sched.busy() {
                Action::Deadlock
            } else {
                Action::Nothing
            };
        }
        let pick_event = match (&start, self.sched.schedule) {
            (None, _) => false,
            (Some(_), _) if runnable.is_empty() => true,
            (Some(_), Schedule::Pct { .. }) => true,
            (Some(_), _) => self.sched.rng.below(runnable.len() as u64 + 1) == 0,
        };
        if let (true, Some((class, places))) = (pick_event, start) {
            let Some((key, event)) = self.queue.pop_first() else {
                return Action::Nothing;
            };
            self.now = self.now.max(key.0);
            if class == Class::Inline {
                return Action::Inline(event);
            }
            let index = pick(&mut self.sched.rng, places.len());
            let cpu = places.get(index).copied().unwrap_or(0);
            return Action::Start(cpu, event);
        }
        let cpu = if let Schedule::Pct { .. } = self.sched.schedule {
            runnable
                .iter()
                .copied()
                .max_by_key(|&c| (self.top(c).map_or(0, |a| a.priority), usize::MAX - c))
                .unwrap_or(0)
        } else {
            let index = pick(&mut self.sched.rng, runnable.len());
            runnable.get(index).copied().unwrap_or(0)
        };
        Action::Resume(cpu)
    }

    /// Moves from the test's stack onto processor `cpu`.
    fn enter_cpu(&mut self, cpu: usize) {
        let Some(c) = self.sched.cpus.get_mut(cpu) else {
            return;
        };
        let irql = c.irql.unwrap_or(Irql::Passive);
        let held = std::mem::take(&mut c.held);
        let context = std::mem::take(&mut c.context);
        self.sched.root_irql = std::mem::replace(&mut self.irql, irql);
        self.sched.root_held = std::mem::replace(&mut self.held, held);
        self.sched.root_context = std::mem::replace(&mut self.context, context);
        self.sched.current = Some(cpu);
    }

    /// Moves from the running processor back to the test's stack.
    fn leave_cpu(&mut self) {
        let Some(cpu) = self.sched.current.take() else {
            return;
        };
        let irql = std::mem::replace(&mut self.irql, self.sched.root_irql);
        let held = std::mem::replace(&mut self.held, std::mem::take(&mut self.sched.root_held));
        let context = std::mem::replace(
            &mut self.context,
            std::mem::take(&mut self.sched.root_context),
        );
        if let Some(c) = self.sched.cpus.get_mut(cpu) {
            c.irql = Some(irql);
            c.held = held;
            c.context = context;
        }
    }

    fn push_activity(&mut self, cpu: usize, slot: usize, name: &'static str) {
        let priority = PCT_HORIZON + self.sched.rng.below(1 << 32);
        if let Some(c) = self.sched.cpus.get_mut(cpu) {
            if c.stack.is_empty() {
                c.irql = Some(Irql::Passive);
            }
            c.stack.push(Act {
                slot,
                blocked: None,
                priority,
                name,
            });
        }
    }

    /// The processor that holds `lock`, if any.
    pub(crate) fn lock_owner(&self, lock: Id) -> Option<usize> {
        self.sched.owner.get(&lock).copied()
    }

    /// Records that the running processor holds `lock`, without an order check (the ISR's
    /// implicit hold of its interrupt lock).
    pub(crate) fn lock_owned(&mut self, lock: Id) {
        let cpu = self.sched.current.unwrap_or(0);
        self.sched.owner.insert(lock, cpu);
    }

    /// Records that the running processor took `lock`; checks the order against the locks it
    /// already holds (LOCKORDER).
    pub(crate) fn lock_taken(&mut self, lock: Id) {
        let cpu = self.sched.current.unwrap_or(0);
        self.sched.owner.insert(lock, cpu);
        if self.held.is_empty() {
            return;
        }
        let outer: Vec<Id> = self.held.iter().map(|h| h.lock).collect();
        for a in outer {
            if a == lock {
                continue;
            }
            if !self.sched.order.contains_key(&(a, lock)) {
                let site = self.site();
                self.sched.order.insert((a, lock), site);
            }
            if let Some(other) = self.sched.order.get(&(lock, a)).cloned()
                && self.sched.reported.insert((a.min(lock), a.max(lock)))
            {
                let here = self
                    .sched
                    .order
                    .get(&(a, lock))
                    .cloned()
                    .unwrap_or_default();
                self.finding(
                    "LOCKORDER",
                    Severity::Error,
                    format!(
                        "locks {:#x} and {:#x} are taken in both orders: {:#x} then {:#x} in {here}; {:#x} then {:#x} in {other}",
                        handle(a),
                        handle(lock),
                        handle(a),
                        handle(lock),
                        handle(lock),
                        handle(a)
                    ),
                );
            }
        }
    }

    /// Records that `lock` was released; activities spinning on it may run again.
    pub(crate) fn lock_released(&mut self, lock: Id) {
        self.sched.owner.remove(&lock);
        for c in &mut self.sched.cpus {
            for a in &mut c.stack {
                if a.blocked == Some(lock) {
                    a.blocked = None;
                }
            }
        }
    }

    /// Where the running code is, for findings: processor and callback chain.
    pub(crate) fn site(&self) -> String {
        let chain = if self.context.is_empty() {
            "test".to_string()
        } else {
            self.context.join(" > ")
        };
        match self.sched.current {
            Some(cpu) if self.sched.cpus.len() > 1 => format!("cpu{cpu} {chain}"),
            _ => chain,
        }
    }

    /// The running activity spins on `lock`, held by another processor. Marks it blocked and
    /// reports a deadlock if the processors now wait on each other in a cycle. Returns false
    /// when it must not wait (deadlock reported, or no activity to block).
    fn block_on(&mut self, lock: Id) -> bool {
        let Some(cpu) = self.sched.current else {
            return false;
        };
        if let Some(top) = self
            .sched
            .cpus
            .get_mut(cpu)
            .and_then(|c| c.stack.last_mut())
        {
            top.blocked = Some(lock);
        }
        let mut chain = vec![format!(
            "{} waits for lock {:#x}",
            self.site(),
            handle(lock)
        )];
        let mut wanted = lock;
        let mut seen = HashSet::new();
        while let Some(holder) = self.lock_owner(wanted) {
            if !seen.insert(holder) {
                break;
            }
            if holder == cpu {
                chain.push(format!("held by cpu{cpu} itself"));
                self.deadlock(&chain);
                return false;
            }
            let Some(top) = self.top(holder) else {
                break;
            };
            let Some(next) = top.blocked else {
                return true;
            };
            chain.push(format!(
                "held by cpu{holder} ({}), which waits for lock {:#x}",
                top.name,
                handle(next)
            ));
            wanted = next;
        }
        true
    }

    fn deadlock(&mut self, chain: &[String]) {
        self.finding(
            "DEADLOCK",
            Severity::Fatal,
            format!("processors wait on each other: {}", chain.join("; ")),
        );
    }

    /// Reports that every activity left waits on a lock.
    fn deadlock_all(&mut self) {
        let mut chain = Vec::new();
        for (cpu, c) in self.sched.cpus.iter().enumerate() {
            if let Some(top) = c.stack.last()
                && let Some(lock) = top.blocked
            {
                let owner = self
                    .sched
                    .owner
                    .get(&lock)
                    .map_or_else(|| "no one".to_string(), |o| format!("cpu{o}"));
                chain.push(format!(
                    "cpu{cpu} ({}) waits for lock {:#x} held by {owner}",
                    top.name,
                    handle(lock)
                ));
            }
        }
        if !self.halted {
            self.deadlock(&chain);
        }
    }
}

type Co = Coroutine<(), (), (), DefaultStack>;

thread_local! {
    /// The coroutines of live activities, by slot.
    static COROUTINES: RefCell<Vec<Option<Co>>> = const { RefCell::new(Vec::new()) };
    /// Stacks of finished activities, for reuse.
    static STACKS: RefCell<Vec<DefaultStack>> = const { RefCell::new(Vec::new()) };
    /// The running activity's yielder; null on the test's stack.
    static YIELDER: Cell<*const Yielder<(), ()>> = const { Cell::new(core::ptr::null()) };
}

/// Whether an activity is running (rather than the test's own stack).
fn in_activity() -> bool {
    !YIELDER.with(Cell::get).is_null()
}

/// Suspends the running activity back to the test's stack.
fn suspend() {
    let yielder = YIELDER.with(Cell::get);
    if yielder.is_null() {
        return;
    }
    // SAFETY: a non-null YIELDER was stored by the running coroutine's body from the
    // `&Yielder` it received; that body is on the stack below us, so the yielder is alive.
    unsafe { (*yielder).suspend(()) };
    YIELDER.with(|y| y.set(yielder));
}

/// A switch point: the schedule may suspend the running activity here.
pub(crate) fn point() {
    if !in_activity() || std::thread::panicking() {
        return;
    }
    if with(State::at_point) {
        suspend();
    }
}

/// A DDI entry: a switch point now, and another when the returned guard drops (the return).
///
/// What a test attached to this entry (`Machine::cancel_at_ddi`, `Machine::stall_at_ddi`)
/// happens here: this processor waits while the others run.
pub(crate) fn ddi() -> DdiGuard {
    if in_activity() && !std::thread::panicking() && with(State::at_ddi) {
        suspend();
    }
    point();
    DdiGuard
}

/// Marks a DDI's return: a switch point when dropped.
pub(crate) struct DdiGuard;

impl Drop for DdiGuard {
    fn drop(&mut self) {
        point();
    }
}

/// Waits until `lock` is not held by another processor. Returns false when waiting would
/// never end (deadlock reported) or cannot happen (no activity runs).
pub(crate) fn wait_for(lock: Id) -> bool {
    loop {
        let busy = with(|s| {
            let cpu = s.sched.current?;
            let owner = s.lock_owner(lock)?;
            (owner != cpu).then_some(())
        });
        if busy.is_none() {
            return true;
        }
        if !in_activity() || !with(|s| s.block_on(lock)) {
            return false;
        }
        suspend();
        if with(|s| s.halted) {
            return false;
        }
    }
}

fn new_stack() -> DefaultStack {
    STACKS.with(|p| p.borrow_mut().pop()).unwrap_or_else(|| {
        #[expect(
            clippy::expect_used,
            reason = "no address space for a coroutine stack: nothing can run"
        )]
        DefaultStack::new(STACK_SIZE).expect("kmdf-sim: cannot allocate an activity stack")
    })
}

/// Creates a coroutine for `work` and stores it; returns its slot.
///
/// # Safety
/// Whatever `work` borrows outlives the coroutine: it runs to completion or is dropped before
/// the borrow ends.
unsafe fn create(work: impl FnOnce()) -> usize {
    let body = move |yielder: &Yielder<(), ()>, (): ()| {
        YIELDER.with(|y| y.set(core::ptr::from_ref(yielder)));
        work();
    };
    // SAFETY: the caller's contract covers the borrows of `work`; `body` borrows nothing else.
    let co = unsafe { Co::with_stack_unchecked(new_stack(), body) };
    COROUTINES.with(|table| {
        let mut table = table.borrow_mut();
        if let Some(slot) = table.iter().position(Option::is_none) {
            if let Some(entry) = table.get_mut(slot) {
                *entry = Some(co);
            }
            slot
        } else {
            table.push(Some(co));
            table.len() - 1
        }
    })
}

/// Resumes the top activity of `cpu` until its next switch or its end. True when it ended.
fn resume(cpu: usize) -> bool {
    let Some(slot) = with(|s| {
        let slot = s.top(cpu)?.slot;
        s.enter_cpu(cpu);
        Some(slot)
    }) else {
        return true;
    };
    let Some(mut co) = COROUTINES.with(|t| t.borrow_mut().get_mut(slot).and_then(Option::take))
    else {
        with(State::leave_cpu);
        return true;
    };
    let result = co.resume(());
    YIELDER.with(|y| y.set(core::ptr::null()));
    with(State::leave_cpu);
    match result {
        CoroutineResult::Yield(()) => {
            COROUTINES.with(|t| {
                if let Some(entry) = t.borrow_mut().get_mut(slot) {
                    *entry = Some(co);
                }
            });
            false
        }
        CoroutineResult::Return(()) => {
            with(|s| {
                if let Some(c) = s.sched.cpus.get_mut(cpu) {
                    c.stack.pop();
                    if c.stack.is_empty() {
                        c.irql = None;
                    }
                }
            });
            STACKS.with(|p| p.borrow_mut().push(co.into_stack()));
            true
        }
    }
}

/// Starts `event` as a new activity on `cpu` and runs it to its first switch.
fn start(cpu: usize, event: Event) {
    let name = event_name(&event);
    // SAFETY: the closure owns the event and borrows nothing.
    let slot = unsafe {
        create(move || {
            // An activity that nests on a busy processor (an ISR, a DPC, a grant preempting a
            // thread) is not called *from* the callback below it: mark the boundary.
            with(|s| s.context.push(super::ACTIVITY_BOUNDARY));
            super::engine::handle_event(event);
            with(|s| s.context.pop());
        })
    };
    with(|s| s.push_activity(cpu, slot, name));
    resume(cpu);
}

const fn event_name(event: &Event) -> &'static str {
    match event {
        Event::Dispatch(_) => "EvtIo",
        Event::Isr { .. } => "EvtInterruptIsr",
        Event::Dpc(_) => "EvtInterruptDpc",
        Event::Timer { .. } => "EvtTimerFunc",
        Event::Device { .. } => "device",
        Event::Grant { .. } => "HAL adapter control",
        Event::Cancel { .. } | Event::CancelCallback { .. } => "EvtRequestCancel",
        Event::SystemDone { .. } => "HAL DMA completion",
    }
}

/// Whether the machine schedules several activities (anything but the serial schedule).
fn scheduling() -> bool {
    super::installed() && with(|s| s.sched.schedule != Schedule::Serial)
}

/// Whether a call into the driver made now must become an activity of its own: the test's
/// stack calls it while the machine schedules processors.
pub(crate) fn needs_activity() -> bool {
    !in_activity() && scheduling()
}

/// One scheduling step on the test's stack; false when nothing is left to do.
fn step_with(events: bool) -> bool {
    match with(|s| s.next_action(events)) {
        Action::Resume(cpu) => {
            resume(cpu);
            true
        }
        Action::Start(cpu, event) => {
            start(cpu, event);
            true
        }
        Action::Inline(event) => {
            super::engine::handle_event(event);
            true
        }
        Action::Deadlock => {
            with(State::deadlock_all);
            false
        }
        Action::Nothing => false,
    }
}

/// One step of the machine: a slice of an activity, or the next event.
pub(crate) fn step() -> bool {
    step_with(true)
}

/// Runs the activities in flight to their ends without starting new events.
pub(crate) fn quiesce() {
    if !scheduling() || in_activity() {
        return;
    }
    while with(|s| s.sched.busy()) {
        if !step_with(false) {
            break;
        }
    }
}

/// Runs `work` as a new activity from the test's stack and drives the machine (other
/// activities and due events included) until it ends; then lets the others finish. `None` if
/// it could not end (deadlock).
pub(crate) fn run_activity<R>(name: &'static str, work: impl FnOnce() -> R) -> Option<R> {
    quiesce();
    let mut out = None;
    let done = Cell::new(false);
    {
        let out_ref = &mut out;
        let done_ref = &done;
        let body = move || {
            *out_ref = Some(work());
            done_ref.set(true);
        };
        // SAFETY: `body` borrows `out`, `done` and what `work` borrows. Below, the coroutine is
        // driven to its end before this block ends, or (deadlock) leaked by `abandon` and
        // never resumed or dropped, so the borrows are never used after the block.
        let slot = unsafe { create(body) };
        let cpu = with(|s| {
            let idle: Vec<usize> = (0..s.sched.cpus.len())
                .filter(|&c| s.top(c).is_none())
                .collect();
            let index = pick(&mut s.sched.rng, idle.len());
            let cpu = idle.get(index).copied().unwrap_or(0);
            s.push_activity(cpu, slot, name);
            cpu
        });
        resume(cpu);
        while !done.get() {
            let halted = with(|s| s.halted);
            if !step_with(!halted) {
                break;
            }
        }
        if !done.get() {
            abandon(cpu, slot);
        }
    }
    quiesce();
    out
}

/// Gives up an activity that can never end (its processor deadlocked).
///
/// It is never resumed again and never unwound: its frames include the driver's `extern "C"` callbacks, through
/// which no panic may unwind, so its stack is leaked instead.
fn abandon(cpu: usize, slot: usize) {
    with(|s| {
        if let Some(c) = s.sched.cpus.get_mut(cpu) {
            c.stack.retain(|a| a.slot != slot);
        }
    });
    let co = COROUTINES.with(|t| t.borrow_mut().get_mut(slot).and_then(Option::take));
    Box::leak(Box::new(co));
}

/// Gives up the activities still suspended when the machine goes away.
///
/// That happens after a fatal finding halted it, or when a test stops stepping mid-callback. As in [`abandon`], they are leaked
/// rather than unwound.
pub(crate) fn teardown() {
    let live: Vec<Co> = COROUTINES.with(|t| t.borrow_mut().drain(..).flatten().collect());
    if !live.is_empty() {
        Box::leak(Box::new(live));
    }
}
