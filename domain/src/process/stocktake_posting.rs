//! Stocktake posting: an approved stocktake adjusts each differing stock item, and each adjustment is
//! recorded back on the stocktake, which completes when all are posted.

use rust_decimal::Decimal;

use super::{EventContext, ProcessManager};
use crate::ids::StocktakeId;
use crate::inventory::stock::StockEvent;
use crate::inventory::{DocRef, StockCommand, StockKey, StocktakeCommand, StocktakeEvent};
use crate::values::{Code, UnitAmount};

/// The document kind stock adjustments of a stocktake carry as their source.
pub const STOCKTAKE_DOC: &str = "inventory.Stocktake";

crate::process_input! {
    #[derive(Clone, Debug, PartialEq)]
    pub enum PostingInput {
        Stocktake(StocktakeEvent),
        Stock(StockEvent),
    }
}

#[derive(Clone, Debug, PartialEq)]
pub enum PostingCommand {
    Stock(StockCommand),
    Stocktake(StocktakeCommand),
}

pub struct StocktakePosting;

impl ProcessManager for StocktakePosting {
    const NAME: &'static str = "stocktake-posting";
    type Input = PostingInput;
    type Output = PostingCommand;

    fn react(&self, event: &PostingInput, _context: &EventContext) -> Vec<PostingCommand> {
        match event {
            PostingInput::Stocktake(StocktakeEvent::Approved(approved)) => approved
                .differences
                .iter()
                .map(|difference| {
                    PostingCommand::Stock(StockCommand::Adjust {
                        key: StockKey { item: difference.item, warehouse: approved.warehouse },
                        policy: difference.policy.clone(),
                        qty_delta: difference.delta,
                        unit_cost: difference.unit_cost.and_then(|c| UnitAmount::new(c).ok()),
                        reason: Code::new(
                            "reason",
                            if difference.delta > Decimal::ZERO {
                                "stocktake gain"
                            } else {
                                "stocktake loss"
                            },
                        )
                        .expect("a fixed reason is a valid code"),
                        source: DocRef {
                            kind: STOCKTAKE_DOC.into(),
                            id: approved.id.0,
                            line: Some(difference.line),
                        },
                        loss: approved
                            .losses
                            .iter()
                            .find(|l| l.line == difference.line)
                            .map(|l| l.treatment.clone()),
                    })
                })
                .collect(),
            PostingInput::Stock(StockEvent::Adjusted(adjusted)) if adjusted.source.kind == STOCKTAKE_DOC => {
                match adjusted.source.line {
                    Some(line) => vec![PostingCommand::Stocktake(StocktakeCommand::RecordPosted {
                        id: StocktakeId(adjusted.source.id),
                        line,
                    })],
                    None => Vec::new(),
                }
            }
            _ => Vec::new(),
        }
    }
}
