//! Services created from templates.

use paved_model::ids::JobId;

use crate::tx::with_tx;
use crate::{Store, StoreError, Tx, with_pool};

/// A service as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceRow {
    pub name: String,
    pub owner: String,
    pub template: String,
    pub template_version: String,
    pub repository_url: String,
    /// The service spec (`paved.yaml`), as JSON.
    pub spec: String,
    /// The job that created it.
    pub job_id: JobId,
    pub created_at: i64,
}

const SERVICE_COLUMNS: &str =
    "name, owner, template, template_version, repository_url, spec, job_id, created_at";

type ServiceTuple = (String, String, String, String, String, String, String, i64);

fn service_from(row: ServiceTuple) -> ServiceRow {
    let (name, owner, template, template_version, repository_url, spec, job_id, created_at) = row;
    ServiceRow {
        name,
        owner,
        template,
        template_version,
        repository_url,
        spec,
        job_id: JobId(job_id),
        created_at,
    }
}

impl Store {
    pub async fn services(&self) -> Result<Vec<ServiceRow>, StoreError> {
        let sql = format!("SELECT {SERVICE_COLUMNS} FROM services ORDER BY name");
        let rows: Vec<ServiceTuple> = with_pool!(self, pool =>
            sqlx::query_as(sqlx::AssertSqlSafe(sql)).fetch_all(pool).await)?;
        Ok(rows.into_iter().map(service_from).collect())
    }

    pub async fn service(&self, name: &str) -> Result<Option<ServiceRow>, StoreError> {
        let sql = format!("SELECT {SERVICE_COLUMNS} FROM services WHERE name = $1");
        let row: Option<ServiceTuple> = with_pool!(self, pool =>
            sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(name).fetch_optional(pool).await)?;
        Ok(row.map(service_from))
    }
}

impl Tx {
    /// Records a service; a service of that name already recorded is left as it is (a resumed
    /// job records its service once).
    pub async fn insert_service(&mut self, service: &ServiceRow) -> Result<(), StoreError> {
        let sql = format!(
            "INSERT INTO services ({SERVICE_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
             ON CONFLICT (name) DO NOTHING"
        );
        with_tx!(self, conn => sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(&service.name).bind(&service.owner).bind(&service.template)
            .bind(&service.template_version).bind(&service.repository_url).bind(&service.spec)
            .bind(service.job_id.as_str()).bind(service.created_at)
            .execute(&mut **conn).await.map(|_| ()))?;
        Ok(())
    }
}
