//! The ImportTable request: read from an uploaded folder (or its manifests in S3), adjusted by the
//! command line, checked against what S3 holds, and turned into an SDK call.

use super::Source;
use crate::aws::describe;
use crate::model::keys::KeySchema;
use crate::model::manifest::{ImportTable, KeyElement, PartEntry, Summary, Throughput};
use anyhow::{anyhow, bail, Context, Result};
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, InputCompressionType, InputFormat,
    KeySchemaElement, KeyType, Projection, ProjectionType, ProvisionedThroughput, S3BucketSource,
    ScalarAttributeType, SearchSchemaElement, SearchSchemaElementType, SseSpecification, SseType,
    TableCreationParameters, VectorAttributeDefinition, VectorDistanceFunction, VectorIndex,
};
use serde_json::{json, Value};
use std::collections::HashMap;

/// What the command line changes in the request.
#[derive(Clone, Debug, Default)]
pub struct Overrides {
    pub table: Option<String>,
    pub keys: Option<KeySchema>,
    pub billing_mode: Option<String>,
    pub rcu: Option<i64>,
    pub wcu: Option<i64>,
    /// KMS key id for SSE with a customer managed key; `Some("")` for the AWS managed KMS key.
    pub sse_kms_key: Option<String>,
    pub client_token: Option<String>,
}

pub struct Request {
    /// The `--cli-input-json` document.
    pub document: ImportTable,
    pub expected_items: Option<u64>,
    pub duplicates: Option<u64>,
    /// The data's uncompressed size, which the import processes and bills.
    pub uncompressed_bytes: Option<u64>,
    /// Data objects the manifest lists: key → (size, etag).
    pub objects: Vec<(String, u64, Option<String>)>,
}

async fn get_text(s3: &aws_sdk_s3::Client, bucket: &str, key: &str) -> Result<String> {
    let o = s3
        .get_object()
        .bucket(bucket)
        .key(key)
        .send()
        .await
        .map_err(|e| anyhow!("cannot read s3://{bucket}/{key}: {}", describe(&e)))?;
    let b = o.body.collect().await.context("reading the object")?;
    Ok(String::from_utf8_lossy(&b.into_bytes()).into_owned())
}

impl Request {
    pub async fn load(source: &Source, s3: &aws_sdk_s3::Client, o: &Overrides) -> Result<Request> {
        let (import, summary, files) = match source {
            Source::Folder(dir) => {
                let read = |n: &str| {
                    std::fs::read_to_string(dir.join(n))
                        .with_context(|| format!("cannot read {}", dir.join(n).display()))
                };
                (
                    read(crate::model::manifest::IMPORT_TABLE)?,
                    read(crate::model::manifest::MANIFEST_SUMMARY).ok(),
                    read(crate::model::manifest::MANIFEST_FILES).ok(),
                )
            }
            Source::S3 { bucket, prefix } => (
                get_text(s3, bucket, &format!("{prefix}import-table.json")).await?,
                get_text(s3, bucket, &format!("{prefix}manifest-summary.json"))
                    .await
                    .ok(),
                get_text(s3, bucket, &format!("{prefix}manifest-files.json"))
                    .await
                    .ok(),
            ),
            Source::Status(_) => unreachable!("no request when reattaching"),
        };
        let mut document: ImportTable = serde_json::from_str(&import)
            .map_err(|e| anyhow!("import-table.json is not an import request: {e}"))?;
        if document.s3_bucket_source.is_none() {
            bail!("import-table.json has no S3BucketSource: upload the folder first (prep upload OUT s3://bucket/prefix/)");
        }
        let summary: Option<Summary> = summary.and_then(|s| serde_json::from_str(&s).ok());
        let objects = files
            .map(|f| {
                PartEntry::lines(&f)
                    .filter_map(|(_, p)| p.ok())
                    .map(|p| {
                        (
                            p.s3_key.unwrap_or_default(),
                            p.stored_bytes.unwrap_or(0),
                            p.etag.filter(|e| !e.is_empty()),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default();
        let tcp = &mut document.table_creation_parameters;
        if let Some(t) = &o.table {
            tcp.table_name = t.clone();
        }
        if let Some(k) = &o.keys {
            let mut fresh = k.table_creation_parameters(&tcp.table_name);
            fresh.billing_mode = tcp.billing_mode.take();
            fresh.provisioned_throughput = tcp.provisioned_throughput.take();
            fresh.sse_specification = tcp.sse_specification.take();
            *tcp = fresh;
        }
        if let Some(b) = &o.billing_mode {
            tcp.billing_mode = Some(b.clone());
        }
        if tcp.billing_mode.as_deref() == Some("PROVISIONED") {
            // The file's own throughput (a map file's billing) unless the command line says.
            let given = tcp.provisioned_throughput;
            let throughput = Throughput {
                read_capacity_units: o.rcu.or(given.map(|t| t.read_capacity_units)).unwrap_or(5),
                write_capacity_units: o.wcu.or(given.map(|t| t.write_capacity_units)).unwrap_or(5),
            };
            tcp.provisioned_throughput = Some(throughput);
            for g in &mut tcp.global_secondary_indexes {
                g.provisioned_throughput = Some(throughput);
            }
        } else {
            tcp.provisioned_throughput = None;
        }
        if let Some(k) = &o.sse_kms_key {
            let mut sse = json!({"Enabled": true, "SSEType": "KMS"});
            if !k.is_empty() {
                sse["KMSMasterKeyId"] = json!(k);
            }
            tcp.sse_specification = Some(sse);
        }
        if let Some(t) = &o.client_token {
            document.client_token = Some(t.clone());
        }
        Ok(Request {
            expected_items: summary.as_ref().and_then(|s| s.item_count),
            duplicates: summary.as_ref().and_then(|s| s.duplicate_count),
            uncompressed_bytes: summary
                .as_ref()
                .and_then(|s| s.uncompressed_bytes.or(s.billed_size_bytes)),
            document,
            objects,
        })
    }

    pub fn table_name(&self) -> Result<String> {
        let t = self.document.table_creation_parameters.table_name.clone();
        crate::model::keys::check_table_or_index_name(&t)
            .context("the table name (set it with --table)")?;
        Ok(t)
    }

    /// Where a returned import reads from and how, where it differs from this request:
    /// ImportTable answers a `ClientToken` it has seen with the original import, whatever the
    /// rest of the request says (measured). Only a request with a token can get another import
    /// back, and only what the answer states is compared.
    pub(crate) fn differs_from(
        &self,
        d: &aws_sdk_dynamodb::types::ImportTableDescription,
    ) -> Option<String> {
        let doc = &self.document;
        doc.client_token.as_ref()?;
        let (bucket, prefix, _) = self.bucket_source();
        let want_format = doc.input_format.as_str();
        let want_compression = doc.input_compression_type.as_str();
        let mut diffs = Vec::new();
        if let Some(src) = d.s3_bucket_source() {
            let got_prefix = src.s3_key_prefix().unwrap_or("");
            if (src.s3_bucket(), got_prefix) != (bucket.as_str(), prefix.as_str()) {
                diffs.push(format!(
                    "it reads s3://{}/{got_prefix}, this request s3://{bucket}/{prefix}",
                    src.s3_bucket()
                ));
            }
        }
        if let Some(f) = d.input_format().map(|f| f.as_str()) {
            if f != want_format {
                diffs.push(format!(
                    "its InputFormat is {f}, this request's {want_format}"
                ));
            }
        }
        if let Some(c) = d.input_compression_type().map(|c| c.as_str()) {
            if c != want_compression {
                diffs.push(format!(
                    "its InputCompressionType is {c}, this request's {want_compression}"
                ));
            }
        }
        (!diffs.is_empty()).then(|| diffs.join("; "))
    }

    fn bucket_source(&self) -> (String, String, Option<String>) {
        match &self.document.s3_bucket_source {
            Some(s) => (
                s.s3_bucket.clone(),
                s.s3_key_prefix.clone(),
                s.s3_bucket_owner.clone(),
            ),
            None => Default::default(),
        }
    }

    /// The S3 prefix must hold exactly the manifest's data objects, with their sizes and ETags.
    pub(crate) async fn check_s3(&self, s3: &aws_sdk_s3::Client) -> Result<()> {
        let (bucket, prefix, owner) = self.bucket_source();
        let mut found: HashMap<String, (u64, Option<String>)> =
            crate::aws::list_objects(s3, &bucket, &prefix, owner.as_deref())
                .await?
                .into_iter()
                .map(|o| (o.key, (o.size, o.etag)))
                .collect();
        if found.is_empty() {
            bail!("s3://{bucket}/{prefix} holds no objects: nothing to import");
        }
        if self.objects.is_empty() {
            return Ok(());
        }
        for (key, size, etag) in &self.objects {
            match found.remove(key) {
                None => bail!(
                    "s3://{bucket}/{key} is in the manifest but not in S3; run prep upload again"
                ),
                Some((s, e)) => {
                    if s != *size {
                        bail!("s3://{bucket}/{key} is {s} bytes in S3, the manifest says {size}; run prep upload again");
                    }
                    if let (Some(want), Some(got)) = (etag, e) {
                        if *want != got {
                            bail!("s3://{bucket}/{key} has ETag {got}, the manifest says {want}; it changed after the upload");
                        }
                    }
                }
            }
        }
        if let Some(extra) = found.keys().next() {
            bail!(
                "s3://{bucket}/{prefix} holds {} object(s) the manifest does not list (e.g. {extra}); the import would read them too",
                found.len()
            );
        }
        Ok(())
    }

    /// The ImportTable call.
    pub(crate) fn to_sdk(
        &self,
        db: &aws_sdk_dynamodb::Client,
    ) -> Result<aws_sdk_dynamodb::operation::import_table::builders::ImportTableFluentBuilder> {
        let d = &self.document;
        let (bucket, prefix, owner) = self.bucket_source();
        let src = S3BucketSource::builder()
            .s3_bucket(bucket)
            .s3_key_prefix(prefix)
            .set_s3_bucket_owner(owner)
            .build()?;
        let t = &d.table_creation_parameters;
        let str_of = |v: &Value, k: &str| v[k].as_str().unwrap_or("").to_string();
        let keys = |ks: &[KeyElement]| -> Result<Vec<KeySchemaElement>> {
            ks.iter()
                .map(|k| {
                    Ok(KeySchemaElement::builder()
                        .attribute_name(&k.attribute_name)
                        .key_type(KeyType::from(k.key_type.as_str()))
                        .build()?)
                })
                .collect()
        };
        let throughput = |v: &Option<Throughput>| -> Result<Option<ProvisionedThroughput>> {
            let Some(v) = v else {
                return Ok(None);
            };
            Ok(Some(
                ProvisionedThroughput::builder()
                    .read_capacity_units(v.read_capacity_units)
                    .write_capacity_units(v.write_capacity_units)
                    .build()?,
            ))
        };
        let mut defs = Vec::new();
        for a in &t.attribute_definitions {
            defs.push(
                AttributeDefinition::builder()
                    .attribute_name(&a.attribute_name)
                    .attribute_type(ScalarAttributeType::from(a.attribute_type.as_str()))
                    .build()?,
            );
        }
        let projection = |p: &Value| {
            Projection::builder()
                .projection_type(ProjectionType::from(
                    p["ProjectionType"].as_str().unwrap_or("ALL"),
                ))
                .set_non_key_attributes(p["NonKeyAttributes"].as_array().map(|l| {
                    l.iter()
                        .filter_map(Value::as_str)
                        .map(str::to_string)
                        .collect()
                }))
                .build()
        };
        let mut gsis = Vec::new();
        for g in &t.global_secondary_indexes {
            gsis.push(
                GlobalSecondaryIndex::builder()
                    .index_name(&g.index_name)
                    .set_key_schema(Some(keys(&g.key_schema)?))
                    .projection(projection(g.projection.as_ref().unwrap_or(&Value::Null)))
                    .set_provisioned_throughput(throughput(&g.provisioned_throughput)?)
                    .build()?,
            );
        }
        let mut vectors = Vec::new();
        for v in &t.vector_indexes {
            let search = v["SearchSchema"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|e| {
                    SearchSchemaElement::builder()
                        .attribute_name(str_of(e, "AttributeName"))
                        .search_schema_element_type(SearchSchemaElementType::from(
                            str_of(e, "SearchSchemaElementType").as_str(),
                        ))
                        .build()
                })
                .collect::<Result<Vec<_>, _>>()?;
            let attribute = match v.get("VectorAttribute") {
                Some(a) => Some(
                    VectorAttributeDefinition::builder()
                        .attribute_name(str_of(a, "AttributeName"))
                        .build()?,
                ),
                None => None,
            };
            vectors.push(
                VectorIndex::builder()
                    .index_name(str_of(v, "IndexName"))
                    .set_vector_attribute(attribute)
                    .set_search_schema((!search.is_empty()).then_some(search))
                    .set_projection(v.get("Projection").map(projection))
                    .set_dimensions(v["Dimensions"].as_i64())
                    .distance_function(VectorDistanceFunction::from(
                        str_of(v, "DistanceFunction").as_str(),
                    ))
                    .build()?,
            );
        }
        let sse = t.sse_specification.as_ref().map(|s| {
            SseSpecification::builder()
                .enabled(s["Enabled"].as_bool().unwrap_or(true))
                .sse_type(SseType::from(s["SSEType"].as_str().unwrap_or("KMS")))
                .set_kms_master_key_id(s["KMSMasterKeyId"].as_str().map(str::to_string))
                .build()
        });
        let tcp = TableCreationParameters::builder()
            .table_name(&t.table_name)
            .set_attribute_definitions(Some(defs))
            .set_key_schema(Some(keys(&t.key_schema)?))
            .billing_mode(BillingMode::from(
                t.billing_mode.as_deref().unwrap_or("PAY_PER_REQUEST"),
            ))
            .set_provisioned_throughput(throughput(&t.provisioned_throughput)?)
            .set_global_secondary_indexes((!gsis.is_empty()).then_some(gsis))
            .set_vector_indexes((!vectors.is_empty()).then_some(vectors))
            .set_sse_specification(sse)
            .build()?;
        Ok(db
            .import_table()
            .s3_bucket_source(src)
            .input_format(InputFormat::from(d.input_format.as_str()))
            .input_compression_type(InputCompressionType::from(
                d.input_compression_type.as_str(),
            ))
            .table_creation_parameters(tcp)
            .set_client_token(d.client_token.clone()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_dynamodb::types::{ImportTableDescription, InputCompressionType, InputFormat};

    fn request() -> Request {
        Request {
            document: serde_json::from_value(json!({
                "S3BucketSource": {"S3Bucket": "bkt", "S3KeyPrefix": "users/v2/data/"},
                "InputFormat": "ION",
                "InputCompressionType": "ZSTD",
                "ClientToken": "nightly",
                "TableCreationParameters": {"TableName": "users",
                    "AttributeDefinitions": [{"AttributeName": "id", "AttributeType": "S"}],
                    "KeySchema": [{"AttributeName": "id", "KeyType": "HASH"}]},
            }))
            .unwrap(),
            expected_items: None,
            duplicates: None,
            uncompressed_bytes: None,
            objects: Vec::new(),
        }
    }

    fn returned(
        prefix: &str,
        format: InputFormat,
        c: InputCompressionType,
    ) -> ImportTableDescription {
        ImportTableDescription::builder()
            .import_arn("arn:aws:dynamodb:us-east-1:1:table/users/import/01")
            .client_token("nightly")
            .s3_bucket_source(
                S3BucketSource::builder()
                    .s3_bucket("bkt")
                    .s3_key_prefix(prefix)
                    .build()
                    .unwrap(),
            )
            .input_format(format)
            .input_compression_type(c)
            .build()
    }

    /// ImportTable answers a client token it has seen with the original import (measured): the
    /// answer is held against the request, source and format both.
    #[test]
    fn a_replayed_client_token_that_returns_another_import_is_told_apart() {
        let r = request();
        let same = returned(
            "users/v2/data/",
            InputFormat::Ion,
            InputCompressionType::Zstd,
        );
        assert_eq!(r.differs_from(&same), None);
        let other = returned(
            "users/v1/data/",
            InputFormat::DynamodbJson,
            InputCompressionType::Gzip,
        );
        let diff = r.differs_from(&other).unwrap();
        assert!(
            diff.contains("it reads s3://bkt/users/v1/data/, this request s3://bkt/users/v2/data/"),
            "{diff}"
        );
        assert!(
            diff.contains("InputFormat is DYNAMODB_JSON, this request's ION"),
            "{diff}"
        );
        assert!(
            diff.contains("InputCompressionType is GZIP, this request's ZSTD"),
            "{diff}"
        );
        let format_only = returned(
            "users/v2/data/",
            InputFormat::Csv,
            InputCompressionType::Zstd,
        );
        assert_eq!(
            r.differs_from(&format_only).unwrap(),
            "its InputFormat is CSV, this request's ION"
        );
        // What the answer leaves out is not a difference; without a token there is no replay.
        let bare = ImportTableDescription::builder()
            .import_arn("arn:aws:dynamodb:us-east-1:1:table/users/import/01")
            .build();
        assert_eq!(r.differs_from(&bare), None);
        let mut untokened = request();
        untokened.document.client_token = None;
        assert_eq!(untokened.differs_from(&other), None);
    }
}
