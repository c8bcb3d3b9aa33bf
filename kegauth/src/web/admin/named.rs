//! The groups and bundles sections (`/groups`, `/bundles`), records with a
//! name and links, and the permissions list (`/permissions`).

use crate::core::backend::Backend;
use crate::core::entity::{AuthEntity, EntitySet, Role};
use crate::core::error::{Error, Result};
use crate::core::store::Store;
use crate::web::crud::{
    BoxFuture, CrudCx, CrudSource, Deleted, FieldErrors, FieldKind, FormField, FormInput, Found,
    GridColumn, GridPage, GridQuery, Saved,
};

use super::common::*;

pub(super) struct Named<DB: Backend, E: EntitySet, T: AuthEntity> {
    pub(super) store: Store<DB, E>,
    pub(super) names: (&'static str, &'static str),
    pub(super) links: &'static [LinkSpec],
    pub(super) name: fn(&T) -> &str,
    pub(super) set_name: fn(&mut T, String),
}

impl<DB: Backend, E: EntitySet, T: AuthEntity> Named<DB, E, T> {
    async fn entity(&self, id: i64) -> Result<Option<T>> {
        self.store.entity::<T>(id).await
    }

    async fn save_named(
        &self,
        cx: &CrudCx<'_>,
        id: Option<i64>,
        input: &FormInput,
    ) -> Result<Found<Saved>> {
        let store = &self.store;
        let tr = &cx.tr;
        let mut entity = match id {
            Some(id) => match self.entity(id).await? {
                Some(e) => e,
                None => return Ok(Found::NotFound),
            },
            None => crate::core::entity::blank::<T>()?,
        };
        let mut errors = FieldErrors::new();
        let name = input.get("name").unwrap_or_default().trim().to_string();
        if name.is_empty() {
            add_error(&mut errors, "name", tr.t("field-required"));
        } else if name.chars().count() > 1024 {
            add_error(
                &mut errors,
                "name",
                tr.t_args("field-too-long", &[("max", "1024".into())]),
            );
        }
        (self.set_name)(&mut entity, name);
        apply_extras(&mut entity, input, &mut errors, tr);
        let links = chosen_links(store, cx, self.links, id, input, &mut errors).await?;
        if !errors.is_empty() {
            return Ok(Found::Yes(Saved::Invalid(errors)));
        }
        let result = match id {
            Some(_) => store.update_entity(&entity).await,
            None => store.insert_entity(&mut entity).await,
        };
        match result {
            Ok(()) => {}
            Err(Error::Conflict(_)) => {
                add_error(&mut errors, "name", tr.t("field-in-use"));
                return Ok(Found::Yes(Saved::Invalid(errors)));
            }
            Err(Error::Invalid(message)) => {
                add_error(&mut errors, "_form", message);
                return Ok(Found::Yes(Saved::Invalid(errors)));
            }
            Err(e) => return Err(e),
        }
        for (link, ids) in links {
            store.set_links(link, entity.id(), &ids).await?;
        }
        Ok(Found::Yes(Saved::Done {
            id: entity.id(),
            relogin: None,
        }))
    }
}

impl<DB: Backend, E: EntitySet, T: AuthEntity> CrudSource for Named<DB, E, T> {
    fn names(&self) -> (&str, &str) {
        self.names
    }

    fn columns(&self) -> Vec<GridColumn> {
        let schema = T::schema();
        let mut cols = Vec::new();
        if let Some(c) = schema.column(Role::Name) {
            cols.push(GridColumn::new(c.name, "admin-name"));
        }
        cols.extend(extra_grid_columns::<T>());
        cols
    }

    fn list<'a>(
        &'a self,
        cx: &'a CrudCx<'a>,
        query: &'a GridQuery,
    ) -> BoxFuture<'a, Result<GridPage>> {
        Box::pin(async move {
            let columns = self.columns();
            grid_page(&self.store, cx, &columns, query, |_: &T, _| {}).await
        })
    }

    fn form<'a>(
        &'a self,
        _cx: &'a CrudCx<'a>,
        id: Option<i64>,
    ) -> BoxFuture<'a, Result<Found<Vec<FormField>>>> {
        Box::pin(async move {
            let entity = match id {
                Some(id) => match self.entity(id).await? {
                    Some(e) => e,
                    None => return Ok(Found::NotFound),
                },
                None => crate::core::entity::blank::<T>()?,
            };
            let mut fields =
                vec![
                    FormField::new("name", "admin-name", FieldKind::Text, (self.name)(&entity))
                        .required(),
                ];
            fields.extend(extra_fields(&entity));
            for (link, field, label) in self.links {
                fields.push(link_field(&self.store, *link, id, field, label).await?);
            }
            Ok(Found::Yes(fields))
        })
    }

    fn save<'a>(
        &'a self,
        cx: &'a CrudCx<'a>,
        id: Option<i64>,
        input: &'a FormInput,
    ) -> BoxFuture<'a, Result<Found<Saved>>> {
        Box::pin(self.save_named(cx, id, input))
    }

    fn label<'a>(&'a self, _cx: &'a CrudCx<'a>, id: i64) -> BoxFuture<'a, Result<Found<String>>> {
        Box::pin(async move {
            Ok(match self.entity(id).await? {
                Some(e) => Found::Yes((self.name)(&e).to_string()),
                None => Found::NotFound,
            })
        })
    }

    fn delete<'a>(&'a self, cx: &'a CrudCx<'a>, id: i64) -> BoxFuture<'a, Result<Found<Deleted>>> {
        Box::pin(async move {
            let Some(entity) = self.entity(id).await? else {
                return Ok(Found::NotFound);
            };
            match self.store.delete_entity(T::KIND, id).await {
                Ok(()) => Ok(Found::Yes(Deleted::Done)),
                Err(Error::Referenced(_)) => Ok(Found::Yes(refused(&cx.tr, (self.name)(&entity)))),
                Err(Error::NotFound(_)) => Ok(Found::NotFound),
                Err(e) => Err(e),
            }
        })
    }
}

// ----- permissions ---------------------------------------------------------------------------

pub(super) struct Permissions<DB: Backend, E: EntitySet> {
    pub(super) store: Store<DB, E>,
}

impl<DB: Backend, E: EntitySet> CrudSource for Permissions<DB, E> {
    fn names(&self) -> (&str, &str) {
        ("admin-permission", "admin-permissions")
    }

    fn columns(&self) -> Vec<GridColumn> {
        let schema = <E::Permission as AuthEntity>::schema();
        [
            (Role::Token, "admin-name"),
            (Role::Description, "admin-description"),
        ]
        .iter()
        .filter_map(|(role, label)| schema.column(*role).map(|c| GridColumn::new(c.name, label)))
        .collect()
    }

    fn list<'a>(
        &'a self,
        cx: &'a CrudCx<'a>,
        query: &'a GridQuery,
    ) -> BoxFuture<'a, Result<GridPage>> {
        Box::pin(async move {
            let columns = self.columns();
            grid_page(&self.store, cx, &columns, query, |_: &E::Permission, _| {}).await
        })
    }
}
