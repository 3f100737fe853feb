//! The process-manager runner: feeds a process manager the log from its checkpoint and executes the
//! commands it answers through the command bus.
//!
//! At-least-once delivery, exactly-once effect: the checkpoint is saved after the commands of an event
//! are executed (every `save_every` events), so a crash re-reads some events; their commands carry the
//! same derived ids ([`domain::process::reaction_meta`]), and the bus answers a command it has already
//! executed with its original outcome instead of executing it again.

use std::collections::{HashMap, VecDeque};
use std::future::Future;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use tokio::sync::{oneshot, watch};
use tokio::task::JoinSet;

use domain::inventory::{
    Replenishment, ReplenishmentCommand, StockCommand, StockItem, StockTransfer, Stocktake,
};
use domain::process::order_fulfilment::FulfilmentCommand;
use domain::process::price_differences::PriceDifferenceCommand;
use domain::process::production::ProductionCommand;
use domain::process::receipt_allocation::AllocationCommand;
use domain::process::receiving::ReceivingCommand;
use domain::process::returns::ReturnsCommand;
use domain::process::shipping::ShippingCommand;
use domain::process::stocktake_posting::PostingCommand;
use domain::process::transfers::TransferFlowCommand;
use domain::process::{EventContext, ProcessInput, ProcessManager, reaction_meta};
use domain::production::ProductionOrder;
use domain::purchasing::{PurchaseInvoice, PurchaseInvoiceCommand, PurchaseOrder, PurchaseRequisition};
use domain::returns::Return;
use domain::sales::{
    CustomerAccount, CustomerAccountCommand, CustomerReceipt, SalesInvoice, SalesOrder, Shipment,
};
use domain::{Aggregate, CommandMeta, Rejection};
use infra::codec::decode_process_input;
use infra::{EventStore, RecordedEvent, StoreError, Subscription};

use crate::bus::{BusError, CommandBus, Executed};
use crate::finance::{AutoVoucherOutcome, FinanceError};
use domain::finance::AutoVoucher;

/// How often a command that keeps conflicting is retried by the runner before it stops with an error
/// (each attempt is itself `bus::ATTEMPTS_MAX` rounds).
pub const DISPATCH_ATTEMPTS_MAX: usize = 5;

/// A command a process manager issued: the position of the event that caused it, its metadata, itself.
type Issued<C> = (u64, CommandMeta, C);

/// Most events handled as one batch (their commands run concurrently).
pub const BATCH_EVENTS_MAX: usize = 256;

/// What became of one command a process manager issued.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DispatchOutcome {
    Done,
    /// Executed before (a re-read after a restart); nothing done again.
    Duplicate,
    /// The business said no; logged, and the flow waits for a person.
    Rejected {
        code: &'static str,
        message: String,
    },
    Conflict,
}

/// Executes a process manager's output enum on the bus.
pub trait Dispatch<S: EventStore>: Clone + Sized + Send + Sync + 'static {
    /// The stream the command addresses (commands to one stream run in order).
    fn stream_id(&self) -> String;

    /// Executes commands addressed to one stream, in order, appending all their events at once
    /// ([`CommandBus::execute_all`]); one outcome per command.
    fn dispatch_all(
        commands: &[(CommandMeta, Self)],
        bus: &CommandBus<S>,
    ) -> impl Future<Output = Result<Vec<DispatchOutcome>, StoreError>> + Send;
}

fn outcomes<E, R: Rejection>(
    result: Result<Vec<Result<Executed<E>, R>>, BusError<R>>,
    count: usize,
) -> Result<Vec<DispatchOutcome>, StoreError> {
    match result {
        Ok(outcomes) => Ok(outcomes
            .into_iter()
            .map(|outcome| match outcome {
                Ok(executed) if executed.duplicate => DispatchOutcome::Duplicate,
                Ok(_) => DispatchOutcome::Done,
                Err(r) => DispatchOutcome::Rejected { code: r.code(), message: r.to_string() },
            })
            .collect()),
        // A failure of the whole append is every command's outcome.
        Err(error) => Ok(vec![bus_outcome(error)?; count]),
    }
}

async fn execute_all<S: EventStore, A: Aggregate>(
    bus: &CommandBus<S>,
    commands: &[(&CommandMeta, &A::Command)],
) -> Result<Vec<DispatchOutcome>, StoreError> {
    outcomes(bus.execute_all::<A>(commands).await, commands.len())
}

/// Implements [`Dispatch`] for a process manager's command enum whose variants each wrap one aggregate's
/// command: the stream comes from that aggregate, the command goes to the bus for it. Consecutive
/// commands of one variant go to the bus together.
macro_rules! dispatch_enum {
    ($command:ident { $($variant:ident => $aggregate:ty),+ $(,)? }) => {
        impl<S: EventStore> Dispatch<S> for $command {
            fn stream_id(&self) -> String {
                match self {
                    $($command::$variant(command) => <$aggregate as Aggregate>::stream_id(command),)+
                }
            }

            async fn dispatch_all(
                commands: &[(CommandMeta, Self)],
                bus: &CommandBus<S>,
            ) -> Result<Vec<DispatchOutcome>, StoreError> {
                let mut outcomes = Vec::with_capacity(commands.len());
                let mut rest = commands;
                while let Some((_, first)) = rest.first() {
                    match first {
                        $($command::$variant(_) => {
                            let run: Vec<_> = rest
                                .iter()
                                .map_while(|(meta, command)| match command {
                                    $command::$variant(command) => Some((meta, command)),
                                    #[allow(unreachable_patterns)]
                                    _ => None,
                                })
                                .collect();
                            rest = &rest[run.len()..];
                            outcomes.extend(execute_all::<S, $aggregate>(bus, &run).await?);
                        })+
                    }
                }
                Ok(outcomes)
            }
        }
    };
}

/// Implements [`Dispatch`] for a process manager that issues one aggregate's commands.
macro_rules! dispatch_command {
    ($command:ty => $aggregate:ty) => {
        impl<S: EventStore> Dispatch<S> for $command {
            fn stream_id(&self) -> String {
                <$aggregate as Aggregate>::stream_id(self)
            }

            async fn dispatch_all(
                commands: &[(CommandMeta, Self)],
                bus: &CommandBus<S>,
            ) -> Result<Vec<DispatchOutcome>, StoreError> {
                let run: Vec<_> = commands.iter().map(|(meta, command)| (meta, command)).collect();
                execute_all::<S, $aggregate>(bus, &run).await
            }
        }
    };
}

dispatch_enum!(PostingCommand { Stock => StockItem, Stocktake => Stocktake });
dispatch_enum!(FulfilmentCommand { Stock => StockItem, Sales => SalesOrder, Purchasing => PurchaseRequisition });
dispatch_enum!(ShippingCommand { Stock => StockItem, Sales => SalesOrder, Shipment => Shipment });
dispatch_enum!(AllocationCommand { Invoice => SalesInvoice, Receipt => CustomerReceipt });
dispatch_enum!(TransferFlowCommand { Stock => StockItem, Transfer => StockTransfer });
dispatch_enum!(PriceDifferenceCommand { PurchaseOrder => PurchaseOrder, Stock => StockItem });
dispatch_enum!(ReceivingCommand { Stock => StockItem, Invoice => PurchaseInvoice });
dispatch_enum!(ProductionCommand { Stock => StockItem, Order => ProductionOrder });
dispatch_enum!(ReturnsCommand { Stock => StockItem, Return => Return });
dispatch_command!(StockCommand => StockItem);
dispatch_command!(CustomerAccountCommand => CustomerAccount);
dispatch_command!(PurchaseInvoiceCommand => PurchaseInvoice);
dispatch_command!(ReplenishmentCommand => Replenishment);

/// An automatic voucher goes through the finance service: roles resolved in the book's chart, drafted,
/// and posted when the book posts automatic vouchers without review.
impl<S: EventStore> Dispatch<S> for AutoVoucher {
    fn stream_id(&self) -> String {
        domain::finance::voucher::Voucher::stream(self.id)
    }

    async fn dispatch_all(
        commands: &[(CommandMeta, Self)],
        bus: &CommandBus<S>,
    ) -> Result<Vec<DispatchOutcome>, StoreError> {
        let mut outcomes = Vec::with_capacity(commands.len());
        for (meta, voucher) in commands {
            let outcome = match crate::finance::record_automatic_voucher(bus, meta, voucher).await {
                Ok(AutoVoucherOutcome::Duplicate) => DispatchOutcome::Duplicate,
                Ok(AutoVoucherOutcome::Recorded { .. }) => DispatchOutcome::Done,
                Err(FinanceError::Voucher(e)) => bus_outcome(e)?,
                Err(FinanceError::Journal(e)) => bus_outcome(e)?,
                Err(FinanceError::Opening(e)) => bus_outcome(e)?,
                Err(FinanceError::PurchaseInvoice(e)) => bus_outcome(e)?,
                Err(FinanceError::Stock(e)) => bus_outcome(e)?,
                Err(FinanceError::Invoice(e)) => bus_outcome(e)?,
            };
            outcomes.push(outcome);
        }
        Ok(outcomes)
    }
}

fn bus_outcome<R: Rejection>(error: BusError<R>) -> Result<DispatchOutcome, StoreError> {
    match error {
        BusError::Rejected(r) => Ok(DispatchOutcome::Rejected { code: r.code(), message: r.to_string() }),
        BusError::Conflict { .. } => Ok(DispatchOutcome::Conflict),
        BusError::Store(e) => Err(e),
        // Process managers never name an expected version.
        BusError::Stale { .. } => Ok(DispatchOutcome::Conflict),
        e @ BusError::WrongBook { .. } => {
            Ok(DispatchOutcome::Rejected { code: e.code(), message: e.to_string() })
        }
    }
}

/// Resolves once `stop` turns true (never without one, or once its sender is gone).
async fn wait_for_stop(stop: &mut Option<watch::Receiver<bool>>) {
    match stop {
        Some(stop) => {
            if stop.wait_for(|s| *s).await.is_err() {
                std::future::pending::<()>().await;
            }
        }
        None => std::future::pending().await,
    }
}

/// Checkpoints of process managers, one small file each, replaced atomically.
#[derive(Clone, Debug)]
pub struct FileCheckpoints {
    dir: PathBuf,
}

impl FileCheckpoints {
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        FileCheckpoints { dir: dir.into() }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.join(format!("process-{name}.ckpt"))
    }

    /// The last position fully handled (0 when the process manager never ran).
    pub fn load(&self, name: &str) -> Result<u64, StoreError> {
        let path = self.path(name);
        match std::fs::read_to_string(&path) {
            Ok(text) => text.trim().parse().map_err(|_| StoreError::Corrupt {
                segment: path.display().to_string(),
                offset: 0,
                reason: format!("checkpoint is not a position: {text:?}"),
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(0),
            Err(e) => Err(StoreError::io(format!("reading {}", path.display()), e)),
        }
    }

    pub fn save(&self, name: &str, position: u64) -> Result<(), StoreError> {
        // A temporary name of its own per save: a save still running for a runner that was stopped must
        // not rename another save's file away. The last rename wins; at worst the checkpoint goes back a
        // little, which only re-reads events whose commands are recognised.
        static SAVES: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let path = self.path(name);
        let n = SAVES.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let tmp = path.with_extension(format!("ckpt.{}-{n}.tmp", std::process::id()));
        let io = |e| StoreError::io(format!("writing {}", path.display()), e);
        std::fs::create_dir_all(&self.dir).map_err(io)?;
        {
            use std::io::Write;
            let mut file = std::fs::File::create(&tmp).map_err(io)?;
            writeln!(file, "{position}").map_err(io)?;
            file.sync_all().map_err(io)?;
        }
        std::fs::rename(&tmp, &path).map_err(io)?;
        sync_dir(&self.dir).map_err(io)
    }
}

fn sync_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::File::open(dir)?.sync_all()
}

/// Why a runner stopped.
#[derive(Debug)]
pub enum RunnerError {
    Store(StoreError),
    /// A command kept conflicting: the runner stops rather than skip it; a restart retries.
    Stuck {
        process: &'static str,
        position: u64,
    },
}

impl std::fmt::Display for RunnerError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RunnerError::Store(e) => write!(f, "store [{}]: {e}", e.code()),
            RunnerError::Stuck { process, position } => {
                write!(
                    f,
                    "process manager {process} stopped at position {position}: a command kept conflicting"
                )
            }
        }
    }
}

impl std::error::Error for RunnerError {}

impl From<StoreError> for RunnerError {
    fn from(e: StoreError) -> Self {
        RunnerError::Store(e)
    }
}

/// Counts of what a runner did, for tests, logs and metrics.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RunnerStats {
    pub events_seen: u64,
    pub events_handled: u64,
    pub commands_done: u64,
    pub commands_duplicate: u64,
    pub commands_rejected: u64,
}

pub struct ProcessRunner<S: EventStore, P: ProcessManager> {
    bus: CommandBus<S>,
    manager: P,
    checkpoints: FileCheckpoints,
    /// Save the checkpoint after this many events (1 = after every event)...
    save_every: u64,
    /// ...and not more often than this: each save is three fsyncs (file, rename, directory).
    save_interval: Duration,
    pub stats: RunnerStats,
}

/// Batches whose commands may be running at once. Their commands share the store's group commits; a
/// stream's commands still run in event order across batches.
pub const BATCHES_IN_FLIGHT_MAX: usize = 8;

/// A batch whose commands are running (or done but waiting for an older batch).
struct InFlight {
    /// Position of the batch's last event: the checkpoint once this batch and all before it are done.
    last: u64,
    /// Command tasks of the batch still running.
    running: usize,
    /// The first event whose command kept conflicting: the checkpoint must stay before it.
    stuck: Option<u64>,
}

/// A finished task: its batch's sequence number and what became of each command (with its event's
/// position).
type TaskDone = (u64, Vec<(u64, DispatchOutcome)>);

/// One task's commands, all to one stream, in event order.
type StreamTask<C> = (String, Vec<Issued<C>>);

impl<S, P> ProcessRunner<S, P>
where
    S: EventStore,
    P: ProcessManager,
    P::Output: Dispatch<S>,
{
    pub fn new(bus: CommandBus<S>, manager: P, checkpoints: FileCheckpoints, save_every: u64) -> Self {
        ProcessRunner {
            bus,
            manager,
            checkpoints,
            save_every: save_every.max(1),
            save_interval: Duration::ZERO,
            stats: RunnerStats::default(),
        }
    }

    /// Saves the checkpoint at most once per `interval` (besides the final save), bounding both the fsyncs
    /// spent on it and the events re-read after a crash (whose commands are recognised, not redone).
    pub fn with_save_interval(mut self, interval: Duration) -> Self {
        self.save_interval = interval;
        self
    }

    /// Handles events from the checkpoint until the position `until` is handled (or forever with
    /// `u64::MAX`), then saves the checkpoint. A store failure or a command that keeps conflicting
    /// stops the runner with an error; restarting resumes from the checkpoint.
    ///
    /// Events are taken in batches of whatever the subscription already holds (up to
    /// `BATCH_EVENTS_MAX`). The commands of a batch run concurrently, one task per target stream, and up
    /// to `BATCHES_IN_FLIGHT_MAX` batches run at once, so a flush of the log serves many batches and a
    /// slow stream does not hold up the others. A stream's commands run in event order, also across
    /// batches (each task waits for the stream's previous one). The checkpoint moves past a batch only
    /// when it and every batch before it are done.
    pub async fn run_until(&mut self, until: u64) -> Result<u64, RunnerError> {
        self.run(until, None).await
    }

    /// Handles events from the checkpoint until `stop` turns true, then lets the commands already
    /// running finish, saves the checkpoint past every batch they completed and answers it: a service's
    /// graceful stop, after which a restart neither re-reads nor skips anything.
    pub async fn run_until_stopped(&mut self, stop: watch::Receiver<bool>) -> Result<u64, RunnerError> {
        self.run(u64::MAX, Some(stop)).await
    }

    async fn run(&mut self, until: u64, mut stop: Option<watch::Receiver<bool>>) -> Result<u64, RunnerError> {
        let mut stopping = stop.as_ref().is_some_and(|s| *s.borrow());
        let mut checkpoint = self.checkpoints.load(P::NAME)?;
        let mut saved = checkpoint;
        let mut saved_at = Instant::now();
        let mut subscription = self.bus.store().subscribe_all(checkpoint);
        let mut read_to = checkpoint;
        let mut in_flight: VecDeque<InFlight> = VecDeque::new();
        // Sequence number of `in_flight[0]`; tasks report the sequence number of their batch.
        let mut front_seq = 0u64;
        let mut tasks: JoinSet<Result<TaskDone, StoreError>> = JoinSet::new();
        // The last task of each stream: the next one for that stream waits for it.
        let mut stream_tails: HashMap<String, oneshot::Receiver<()>> = HashMap::new();
        loop {
            while in_flight.front().is_some_and(|b| b.running == 0 && b.stuck.is_none()) {
                let batch = in_flight.pop_front().expect("checked");
                front_seq += 1;
                checkpoint = batch.last;
            }
            let stuck = in_flight.front().and_then(|b| if b.running == 0 { b.stuck } else { None });
            let due = checkpoint - saved >= self.save_every && saved_at.elapsed() >= self.save_interval;
            let stopped = stopping && tasks.is_empty();
            if checkpoint > saved && (due || checkpoint >= until || stuck.is_some() || stopped) {
                self.save(checkpoint).await?;
                saved = checkpoint;
                saved_at = Instant::now();
            }
            if let Some(position) = stuck {
                // Let the other batches' commands finish (they are recognised after a restart anyway).
                while tasks.join_next().await.is_some() {}
                return Err(RunnerError::Stuck { process: P::NAME, position });
            }
            if checkpoint >= until || stopped {
                return Ok(checkpoint);
            }
            let may_read = !stopping && read_to < until && in_flight.len() < BATCHES_IN_FLIGHT_MAX;
            if !may_read && tasks.is_empty() {
                unreachable!("a batch in flight has running tasks, else it was retired above");
            }
            tokio::select! {
                biased;
                _ = wait_for_stop(&mut stop), if !stopping => stopping = true,
                Some(joined) = tasks.join_next(), if !tasks.is_empty() => {
                    let (seq, outcomes) = joined.map_err(|e| {
                        RunnerError::Store(StoreError::Poisoned { reason: format!("dispatch task failed: {e}") })
                    })??;
                    let batch = &mut in_flight[(seq - front_seq) as usize];
                    batch.running -= 1;
                    for (position, outcome) in outcomes {
                        match outcome {
                            DispatchOutcome::Done => self.stats.commands_done += 1,
                            DispatchOutcome::Duplicate => self.stats.commands_duplicate += 1,
                            DispatchOutcome::Rejected { code, message } => {
                                self.stats.commands_rejected += 1;
                                tracing::warn!(process = P::NAME, position, code, %message, "command rejected");
                            }
                            DispatchOutcome::Conflict => {
                                batch.stuck = Some(batch.stuck.map_or(position, |p| p.min(position)));
                            }
                        }
                    }
                }
                events = subscription.next_batch(BATCH_EVENTS_MAX.min((until - read_to) as usize)), if may_read => {
                    let events = events?;
                    let last = events.last().expect("at least one event").position;
                    read_to = last;
                    let seq = front_seq + in_flight.len() as u64;
                    let groups = self.react(&events)?;
                    in_flight.push_back(InFlight {
                        last,
                        running: groups.len(),
                        stuck: None,
                    });
                    for (stream, commands) in groups {
                        let previous = stream_tails.remove(&stream);
                        let (done, tail) = oneshot::channel::<()>();
                        stream_tails.insert(stream, tail);
                        let bus = self.bus.clone();
                        tasks.spawn(async move {
                            if let Some(previous) = previous {
                                // Dropped or sent, the stream's previous task is over.
                                let _ = previous.await;
                            }
                            let outcomes = run_commands(&bus, commands).await;
                            drop(done);
                            Ok((seq, outcomes?))
                        });
                    }
                    if stream_tails.len() > 4 * BATCH_EVENTS_MAX {
                        // Forget streams whose last task is over.
                        stream_tails.retain(|_, tail| matches!(tail.try_recv(), Err(oneshot::error::TryRecvError::Empty)));
                    }
                }
            }
        }
    }

    async fn save(&self, checkpoint: u64) -> Result<(), RunnerError> {
        let checkpoints = self.checkpoints.clone();
        // Three fsyncs: kept off the async worker threads.
        tokio::task::spawn_blocking(move || checkpoints.save(P::NAME, checkpoint))
            .await
            .map_err(|e| StoreError::Poisoned { reason: format!("checkpoint task failed: {e}") })??;
        Ok(())
    }

    /// Runs until the log stops moving: every event, including those its own commands append, handled.
    pub async fn run_until_quiet(&mut self) -> Result<u64, RunnerError> {
        loop {
            let head = self.bus.store().head_position().await?;
            let reached = self.run_until(head).await?;
            if self.bus.store().head_position().await? == reached {
                return Ok(reached);
            }
        }
    }

    /// The commands the process manager answers to `batch`, grouped by the stream they address, in the
    /// order the events asked for them.
    fn react(&mut self, batch: &[RecordedEvent]) -> Result<Vec<StreamTask<P::Output>>, RunnerError> {
        let mut groups: Vec<StreamTask<P::Output>> = Vec::new();
        let mut group_of: HashMap<String, usize> = HashMap::new();
        for event in batch {
            self.stats.events_seen += 1;
            if !P::Input::listens_to(event.event_type.name()) {
                continue;
            }
            let input: P::Input = decode_process_input(&event.event_type, &event.payload)?;
            let context = event_context(event);
            self.stats.events_handled += 1;
            for (index, command) in self.manager.react(&input, &context).into_iter().enumerate() {
                let meta = reaction_meta(P::NAME, &context, index as u32);
                let stream = command.stream_id();
                let entry = (event.position, meta, command);
                match group_of.get(&stream) {
                    Some(&i) => groups[i].1.push(entry),
                    None => {
                        group_of.insert(stream.clone(), groups.len());
                        groups.push((stream, vec![entry]));
                    }
                }
            }
        }
        Ok(groups)
    }
}

/// Commands to one stream appended together at most (a bound on one append's size).
pub const COMMANDS_PER_APPEND_MAX: usize = 64;

/// Runs one stream's commands in order, in appends of up to `COMMANDS_PER_APPEND_MAX`; commands that
/// conflict are retried a bounded number of times.
async fn run_commands<S: EventStore, C: Dispatch<S>>(
    bus: &CommandBus<S>,
    commands: Vec<Issued<C>>,
) -> Result<Vec<(u64, DispatchOutcome)>, StoreError> {
    let mut outcomes = Vec::with_capacity(commands.len());
    for chunk in commands.chunks(COMMANDS_PER_APPEND_MAX) {
        let positions: Vec<u64> = chunk.iter().map(|(position, _, _)| *position).collect();
        let mut pending: Vec<usize> = (0..chunk.len()).collect();
        let mut done: Vec<Option<DispatchOutcome>> = vec![None; chunk.len()];
        for attempt in 1..=DISPATCH_ATTEMPTS_MAX {
            let batch: Vec<(CommandMeta, C)> =
                pending.iter().map(|&i| (chunk[i].1.clone(), chunk[i].2.clone())).collect();
            let answered = C::dispatch_all(&batch, bus).await?;
            let mut again = Vec::new();
            for (&i, outcome) in pending.iter().zip(answered) {
                if outcome == DispatchOutcome::Conflict && attempt < DISPATCH_ATTEMPTS_MAX {
                    again.push(i);
                } else {
                    done[i] = Some(outcome);
                }
            }
            pending = again;
            if pending.is_empty() {
                break;
            }
        }
        outcomes
            .extend(positions.into_iter().zip(done.into_iter().map(|o| o.expect("every command answered"))));
    }
    Ok(outcomes)
}

/// What a process manager is told of the event it reacts to, from its envelope.
pub fn event_context(event: &RecordedEvent) -> EventContext {
    EventContext {
        event_id: event.event_id,
        stream_id: event.stream_id.to_string(),
        book: event.metadata.book,
        correlation_id: event.metadata.correlation_id,
        occurred_at: event.metadata.occurred_at,
    }
}

/// Every process manager the service runs, by type path, in the order they are run where one runs
/// after the other (the demo's pump): `$m!(domain::process::receiving::Receiving)` and so on. One
/// list for the service, the demo and their tests, so none of them forgets one.
#[macro_export]
macro_rules! for_each_process_manager {
    ($m:ident) => {
        $m!(domain::process::receiving::Receiving);
        $m!(domain::process::order_fulfilment::OrderFulfilment);
        $m!(domain::process::shipping::Shipping);
        $m!(domain::process::receipt_allocation::ReceiptAllocation);
        $m!(domain::process::supplier_payment::SupplierPaymentAllocation);
        $m!(domain::process::transfers::Transfers);
        $m!(domain::process::stocktake_posting::StocktakePosting);
        $m!(domain::process::replenishment::Replenishing);
        $m!(domain::process::price_differences::PriceDifferences);
        $m!(domain::process::production::Production);
        $m!(domain::process::returns::Returns);
        $m!(domain::process::customer_accounts::CustomerAccounts);
        $m!(domain::process::auto_vouchers::AutoVouchers);
    };
}
