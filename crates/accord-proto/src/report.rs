//! Reports: a reporter's signed statement carrying the offending signed
//! events themselves as evidence (spec/reports.md).

use crate::blocklist::Category;
use crate::envelope::{Domain, EnvelopeError, Payload, Unverified, Verified};
use crate::event::{Event, EventError, UnverifiedEvent};
use crate::hash::Sha256Hash;
use crate::ids::AccountId;
use crate::keys::PublicKey;
use crate::limits::{MAX_REPORT_BODY, MAX_REPORT_COMMENT, MAX_REPORT_CONTEXT, MAX_REPORT_EVIDENCE};
use crate::text::BoundedText;
use crate::time::Timestamp;
use serde::{Deserialize, Serialize};

/// A report's free-text comment.
pub type Comment = BoundedText<MAX_REPORT_COMMENT>;

/// The body of a report (domain `accord/v1/report`, signed by the reporter).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReportBody {
    /// Who reports.
    pub reporter: AccountId,
    /// The harm reported.
    pub category: Category,
    /// The account reported, when the report is about an account rather
    /// than (or as well as) particular events.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<AccountId>,
    /// The offending events, exactly as their authors and origins signed them.
    #[serde(default)]
    pub evidence: Vec<UnverifiedEvent>,
    /// A few events before the evidence, for context.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub context: Vec<UnverifiedEvent>,
    /// What the reporter says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<Comment>,
    /// When the report was made.
    pub ts: Timestamp,
}

impl Payload for ReportBody {
    const DOMAIN: Domain = Domain::Report;
    const MAX_BODY: usize = MAX_REPORT_BODY;
    fn expected_signer(&self) -> PublicKey {
        *self.reporter.public_key()
    }
    fn validate(&self) -> Result<(), String> {
        if self.evidence.is_empty() && self.subject.is_none() {
            return Err("a report needs evidence events or a subject account".into());
        }
        if self.evidence.len() > MAX_REPORT_EVIDENCE {
            return Err(format!("more than {MAX_REPORT_EVIDENCE} evidence events"));
        }
        if self.context.len() > MAX_REPORT_CONTEXT {
            return Err(format!("more than {MAX_REPORT_CONTEXT} context events"));
        }
        Ok(())
    }
}

/// Why a report was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ReportError {
    /// The reporter's envelope was refused.
    #[error("report envelope: {0}")]
    Envelope(#[from] EnvelopeError),
    /// An evidence or context event does not verify: forged or altered.
    #[error("evidence event {index} does not verify: {source}")]
    Evidence {
        /// Position in `evidence` followed by `context`.
        index: usize,
        /// Why it was refused.
        source: EventError,
    },
    /// The subject is named but authored none of the evidence.
    #[error("the subject authored none of the evidence events")]
    SubjectMismatch,
}

impl ReportError {
    /// A stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            ReportError::Envelope(e) => e.code(),
            ReportError::Evidence { .. } => "forged_evidence",
            ReportError::SubjectMismatch => "subject_mismatch",
        }
    }
}

/// A report whose signature and every evidence and context event verified.
#[derive(Debug, Clone)]
pub struct Report {
    body: Verified<ReportBody>,
    evidence: Vec<Event>,
    context: Vec<Event>,
}

impl Report {
    /// Verifies a received report: the reporter's signature, then every
    /// evidence and context event's author and origin signatures.
    pub fn verify(report: &Unverified<ReportBody>) -> Result<Report, ReportError> {
        let body = report.verify()?;
        let all: Vec<UnverifiedEvent> = body.evidence.iter().chain(body.context.iter()).cloned().collect();
        let mut verified = Vec::with_capacity(all.len());
        // One by one: the reporter composes this set, so batch verification
        // (whose coefficients derive from the batch) is not used here
        // (spec/encoding.md §2.5, §8.1).
        for (index, event) in all.iter().enumerate() {
            verified.push(event.verify().map_err(|source| ReportError::Evidence { index, source })?);
        }
        let context = verified.split_off(body.evidence.len());
        if let Some(subject) = body.subject
            && !verified.is_empty()
            && !verified.iter().any(|e| e.author() == subject)
        {
            return Err(ReportError::SubjectMismatch);
        }
        Ok(Report { body, evidence: verified, context })
    }

    /// The report id: SHA-256 of the report body bytes (what list entries
    /// cite as evidence).
    pub fn id(&self) -> Sha256Hash {
        self.body.body_hash()
    }

    /// The signed body.
    pub fn body(&self) -> &Verified<ReportBody> {
        &self.body
    }

    /// The verified evidence events.
    pub fn evidence(&self) -> &[Event] {
        &self.evidence
    }

    /// The verified context events.
    pub fn context(&self) -> &[Event] {
        &self.context
    }

    /// The accounts reported: the subject, else the evidence authors.
    pub fn accused(&self) -> Vec<AccountId> {
        let mut out: Vec<AccountId> = match self.body.subject {
            Some(s) => vec![s],
            None => self.evidence.iter().map(|e| e.author()).collect(),
        };
        out.sort();
        out.dedup();
        out
    }
}
