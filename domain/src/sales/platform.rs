//! A platform order id (Taobao, Pinduoduo, Douyin, WeChat mall ...) names one sales order forever: the
//! first placement claims it, a second placement with the same id is answered with the first order.
//!
//! Platform order ids are unique on their platform, not across the books (companies) that share a log:
//! two shops may both sell Taobao order "123". The claim's stream therefore carries the book
//! (ADR 0014), which travels in the command; the stored event is unchanged (its envelope names the
//! book).

use serde::{Deserialize, Serialize};

use crate::aggregate::Aggregate;
use crate::command::{CommandMeta, Rejection};
use crate::ids::{BookId, SalesOrderId};

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PlatformOrderCommand {
    /// `book` is the book the order is placed in (the command's `CommandMeta::book`): it names the
    /// claim's stream only.
    Claim { book: BookId, platform: String, platform_order_id: String, order: SalesOrderId },
}

/// The stream of a platform order's claim in `book`: the one place its name is made.
pub fn platform_order_stream(book: BookId, platform: &str, platform_order_id: &str) -> String {
    format!("platform-order-{}-{platform}-{platform_order_id}", book.0)
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlatformOrderClaimed {
    pub platform: String,
    pub platform_order_id: String,
    pub order: SalesOrderId,
}

crate::domain_events! {
    #[derive(Clone, Debug, PartialEq, Eq)]
    pub enum PlatformOrderEvent {
        Claimed(PlatformOrderClaimed) = "sales.PlatformOrderClaimed" v 1,
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlatformOrderRejection {
    /// Not an error for the caller: the order exists already, and this is it.
    #[error("platform order already placed as sales order {0}")]
    AlreadyPlaced(SalesOrderId),
    #[error("a platform and a platform order id are 1 to 64 characters")]
    Invalid,
}

impl Rejection for PlatformOrderRejection {
    fn code(&self) -> &'static str {
        match self {
            PlatformOrderRejection::AlreadyPlaced(_) => "sales.platform_order_already_placed",
            PlatformOrderRejection::Invalid => "sales.invalid_platform_order",
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PlatformOrder {
    pub order: Option<SalesOrderId>,
}

impl Aggregate for PlatformOrder {
    type Command = PlatformOrderCommand;
    type Event = PlatformOrderEvent;
    type Rejection = PlatformOrderRejection;

    fn stream_id(command: &PlatformOrderCommand) -> String {
        let PlatformOrderCommand::Claim { book, platform, platform_order_id, .. } = command;
        platform_order_stream(*book, platform, platform_order_id)
    }

    fn evolve(&mut self, event: &PlatformOrderEvent) {
        let PlatformOrderEvent::Claimed(claimed) = event;
        self.order = Some(claimed.order);
    }

    fn decide(
        &self,
        command: &PlatformOrderCommand,
        _meta: &CommandMeta,
    ) -> Result<Vec<PlatformOrderEvent>, PlatformOrderRejection> {
        let PlatformOrderCommand::Claim { platform, platform_order_id, order, .. } = command;
        let valid =
            |s: &str| !s.trim().is_empty() && s.chars().count() <= 64 && !s.chars().any(char::is_control);
        if !valid(platform) || !valid(platform_order_id) {
            return Err(PlatformOrderRejection::Invalid);
        }
        match self.order {
            None => Ok(vec![PlatformOrderEvent::Claimed(PlatformOrderClaimed {
                platform: platform.clone(),
                platform_order_id: platform_order_id.clone(),
                order: *order,
            })]),
            // The same order claiming again (a retried placement) is fine.
            Some(first) if first == *order => Ok(Vec::new()),
            Some(first) => Err(PlatformOrderRejection::AlreadyPlaced(first)),
        }
    }
}
