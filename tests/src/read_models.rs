//! Every read model as the service keeps it (one projector set, models per book), for the tests that
//! check the models themselves: the differential property test and the view snapshots.

use infra::EmbeddedStore;
use projections::audit::Audit;
use projections::dashboard::Dashboard;
use projections::documents::Documents;
use projections::ledger::Ledgers;
use projections::open_items::OpenItems;
use projections::per_book::PerBook;
use projections::process_metrics::ProcessMetrics;
use projections::runtime::{Handle, ProjectorSet};
use projections::stock::Stock;

pub struct ReadModels {
    pub set: ProjectorSet<EmbeddedStore>,
    pub ledger: Handle<Ledgers>,
    pub items: Handle<PerBook<OpenItems>>,
    pub stock: Handle<PerBook<Stock>>,
    pub metrics: Handle<PerBook<ProcessMetrics>>,
    pub documents: Handle<PerBook<Documents>>,
    pub dashboard: Handle<PerBook<Dashboard>>,
    pub audit: Handle<PerBook<Audit>>,
}

impl ReadModels {
    /// Every model over `store`, snapshotted in `snapshots` after at most `snapshot_every` events.
    pub fn open(store: &EmbeddedStore, snapshots: &std::path::Path, snapshot_every: u64) -> ReadModels {
        let mut set = ProjectorSet::new(store.clone(), snapshots).with_snapshot_every(snapshot_every);
        ReadModels {
            ledger: set.add(),
            items: set.add(),
            stock: set.add(),
            metrics: set.add(),
            documents: set.add(),
            dashboard: set.add(),
            audit: set.add(),
            set,
        }
    }

    /// Folds the log up to its head.
    pub async fn advance(&mut self) {
        self.set.catch_up(|_, _| {}).await.unwrap();
    }
}
