//! A conversion run, shared by `prep convert`, `prep merge` and the embedding API (the Python
//! package's encoder and shard writer): its options, the encoding of a batch, the writer
//! thread's state and the report.

mod encode;
mod options;
mod report;
mod writer;

pub(crate) use encode::column_encoding;
#[doc(hidden)]
pub use encode::encode_json_documents;
pub(crate) use encode::{encode_chunk, groups, Chunk, Encoding, Group, Profiling};
pub(crate) use options::output_facts;
pub use options::{default_options, ConvertOptions, DupMode, OnError, DEFAULT_DUP_MEMORY};
pub use report::{human_summary, Report};
pub(crate) use writer::{
    conversion_profile, entity_of, write_duplicates, write_report_files, write_shard_report, Writer,
};
