//! The hashing threads: argon2 runs off the async executor, on its own
//! threads at a lower CPU priority (Linux `SCHED_IDLE`, with a normal-policy
//! fallback lane for jobs that starve), so logins cannot take the CPU from
//! other requests.

use crate::core::error::{Error, Result};
use argon2::Block;
use std::sync::Arc;

thread_local! {
    /// A hashing thread's argon2 memory, kept between hashes (zeroed after
    /// each); `None` on other threads (the blocking API may be called from
    /// any number of them), which allocate per hash. Allocating ~19 MiB per
    /// hash cost page faults and, on the low-priority hashing thread, held
    /// locks the request threads need (the allocator's, the address
    /// space's) while it waited for the CPU.
    pub(super) static MEMORY: std::cell::RefCell<Option<Vec<Block>>> = const { std::cell::RefCell::new(None) };
}

/// One hashing thread per core but one (at least one). Measured with
/// `benches/load.sh` on 2 cores, the p99 of a session page while 20 clients
/// log in: 2 threads, 36 to 68 ms whatever their nice value; 1 thread at nice
/// 0, 6.9 ms; 1 thread at nice 10, 6.2 ms with a third more requests served.
pub(crate) fn default_concurrency() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get().saturating_sub(1).max(1))
}

/// The default nice value of the hashing threads (Linux; 0 is normal, 19 the lowest).
pub const DEFAULT_HASHER_NICE: u8 = 10;

/// How long the `SCHED_IDLE` threads ([`HasherPriority::Idle`]) may run one
/// job before they count as starved: a hash takes about 20 ms on an idle
/// core, so one still running after 250 ms gets no CPU (other work saturates
/// it). Jobs waiting while every idle thread is starved are given to the
/// normal-policy threads as well; whichever copy finishes first answers.
pub const IDLE_GRACE: std::time::Duration = std::time::Duration::from_millis(250);

/// How the hashing threads are scheduled on Linux (elsewhere they run at
/// normal priority).
///
/// ```
/// use kegauth::password::{HasherPriority, PasswordHasher, DEFAULT_HASHER_NICE};
/// let hasher = PasswordHasher::with_priority(1, HasherPriority::Idle(DEFAULT_HASHER_NICE));
/// # let _ = hasher;
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HasherPriority {
    /// The normal policy at this nice value (0 normal, 19 the lowest).
    Nice(u8),
    /// `SCHED_IDLE` (the default): only CPU time no other thread wants, and a
    /// request thread that wakes takes the core at once, so a login storm
    /// costs other requests least. While the idle threads are starved (see
    /// [`IDLE_GRACE`]: a CPU saturated by other work), waiting jobs are also
    /// given to threads of the normal policy at this nice value, started on
    /// first need, so logins slow down under load but never stop. (A thread
    /// cannot leave `SCHED_IDLE` without privileges, hence the second set.)
    Idle(u8),
}

/// The default: `SCHED_IDLE`, raised to nice [`DEFAULT_HASHER_NICE`] when starved.
pub const DEFAULT_HASHER_PRIORITY: HasherPriority = HasherPriority::Idle(DEFAULT_HASHER_NICE);

pub(super) type Job = Box<dyn FnOnce() + Send>;

/// A job for the hashing threads: the work, and where its answer goes. A job
/// may be queued on both lanes (see [`IDLE_GRACE`]): the first to finish
/// answers, and a lane skips a job already answered.
pub(super) struct Shared<C, T> {
    pub(super) work: Box<dyn Fn(&C) -> T + Send + Sync>,
    pub(super) reply: std::sync::Mutex<Option<tokio::sync::oneshot::Sender<T>>>,
}

impl<C, T> Shared<C, T> {
    pub(super) fn reply(
        &self,
    ) -> std::sync::MutexGuard<'_, Option<tokio::sync::oneshot::Sender<T>>> {
        self.reply.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub(super) fn answered(&self) -> bool {
        self.reply().as_ref().is_none_or(|r| r.is_closed())
    }

    /// Run the work unless the job was answered, and answer it. Work that
    /// panics answers nothing: the caller gets an error.
    pub(super) fn run(&self, context: &C) {
        if self.answered() {
            return;
        }
        let answer =
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| (self.work)(context)));
        let reply = self.reply().take();
        if let (Some(reply), Ok(answer)) = (reply, answer) {
            let _ = reply.send(answer);
        }
    }
}

/// One lane of hashing threads, started on first use; they exit when the
/// last clone of the hasher is dropped (the queue closes).
pub(super) struct HashPool {
    pub(super) threads: usize,
    pub(super) priority: HasherPriority,
    pub(super) queue: std::sync::OnceLock<Option<std::sync::mpsc::Sender<Job>>>,
    /// By thread: when the job it runs started.
    pub(super) running: Arc<std::sync::Mutex<Vec<Option<std::time::Instant>>>>,
}

impl HashPool {
    pub(super) fn new(threads: usize, priority: HasherPriority) -> Self {
        let threads = threads.max(1);
        HashPool {
            threads,
            priority,
            queue: std::sync::OnceLock::new(),
            running: Arc::new(std::sync::Mutex::new(vec![None; threads])),
        }
    }

    /// Whether every thread has been running the same job for longer than
    /// `grace`: other work leaves them no CPU, and queued jobs wait on them.
    pub(super) fn starved(&self, grace: std::time::Duration) -> bool {
        let running = self.running.lock().unwrap_or_else(|p| p.into_inner());
        running
            .iter()
            .all(|started| started.is_some_and(|at| at.elapsed() > grace))
    }

    /// The queue, starting the threads on first use; `None` when no thread could start.
    pub(super) fn queue(&self) -> Option<&std::sync::mpsc::Sender<Job>> {
        self.queue
            .get_or_init(|| {
                let (tx, rx) = std::sync::mpsc::channel::<Job>();
                let rx = Arc::new(std::sync::Mutex::new(rx));
                // Linux keeps 15 bytes of a thread's name.
                let lane = match self.priority {
                    HasherPriority::Nice(_) => "hash",
                    HasherPriority::Idle(_) => "idle",
                };
                let started = (0..self.threads)
                    .filter(|&i| {
                        let (rx, running) = (rx.clone(), self.running.clone());
                        let priority = self.priority;
                        std::thread::Builder::new()
                            .name(format!("kegauth-{lane}-{i}"))
                            .spawn(move || hash_worker(&rx, priority, &running, i))
                            .map_err(|e| log::error!("kegauth: cannot start a hashing thread: {e}"))
                            .is_ok()
                    })
                    .count();
                (started > 0).then_some(tx)
            })
            .as_ref()
    }

    pub(super) fn send(&self, job: Job) -> Result<()> {
        self.queue()
            .ok_or_else(|| Error::Hash("no hashing thread could start".into()))?
            .send(job)
            .map_err(|_| Error::Hash("the hashing threads are gone".into()))
    }
}

/// The lanes a hasher's jobs go to: the `SCHED_IDLE` threads when
/// [`HasherPriority::Idle`], and the normal-policy threads (the only lane
/// otherwise) while those are starved for longer than `grace`.
pub(super) struct Lanes {
    pub(super) idle: Option<HashPool>,
    pub(super) normal: HashPool,
    pub(super) grace: std::time::Duration,
}

pub(super) fn hash_worker(
    rx: &std::sync::Mutex<std::sync::mpsc::Receiver<Job>>,
    priority: HasherPriority,
    running: &std::sync::Mutex<Vec<Option<std::time::Instant>>>,
    index: usize,
) {
    lower_priority(priority);
    MEMORY.set(Some(Vec::new()));
    let mark = |started: Option<std::time::Instant>| {
        if let Some(slot) = running
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get_mut(index)
        {
            *slot = started;
        }
    };
    loop {
        let job = rx.lock().unwrap_or_else(|p| p.into_inner()).recv();
        let Ok(job) = job else {
            return; // every hasher is gone
        };
        mark(Some(std::time::Instant::now()));
        // Jobs catch their own panics; this keeps the thread alive regardless.
        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(job));
        mark(None);
    }
}

/// Lower the calling thread's priority (Linux: the nice value and the
/// policy are per thread).
pub(super) fn lower_priority(priority: HasherPriority) {
    #[cfg(target_os = "linux")]
    match priority {
        HasherPriority::Nice(0) => {}
        HasherPriority::Nice(nice) => {
            if let Err(e) = rustix::process::setpriority_process(None, i32::from(nice)) {
                log::warn!("kegauth: cannot lower the hashing threads' priority: {e}");
            }
        }
        HasherPriority::Idle(_) => {
            use thread_priority::{
                NormalThreadSchedulePolicy, ThreadPriority, ThreadSchedulePolicy,
            };
            let idle = ThreadSchedulePolicy::Normal(NormalThreadSchedulePolicy::Idle);
            let thread = thread_priority::thread_native_id();
            if let Err(e) =
                thread_priority::set_thread_priority_and_policy(thread, ThreadPriority::Min, idle)
            {
                log::warn!("kegauth: cannot put the hashing threads under SCHED_IDLE: {e:?}");
            }
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = priority;
}
