//! The users section (`/users`): the user grid, form and delete, with the
//! rules on superusers, self-deletion and granting only what one holds.

use crate::authn::session::Flash;
use crate::core::backend::Backend;
use crate::core::entity::{AuthEntity, CoreField, EntitySet, Kind, LoginKind, Role, UserEntity};
use crate::core::error::{Error, Result};
use crate::core::links::Link;
use crate::core::store::Store;
use crate::web::crud::{
    BoxFuture, CrudCx, CrudSource, Deleted, FieldErrors, FieldKind, FormField, FormInput, Found,
    GridColumn, GridPage, GridQuery, RowAction, Saved,
};

use super::common::*;
use crate::authz::admin_rules::Section;
use crate::services::accounts::check_login_id;

pub(super) struct Users<DB: Backend, E: EntitySet> {
    pub(super) store: Store<DB, E>,
    pub(super) mail: bool,
    /// Second factors are on (`two_factor` is not `"off"`): the grid offers
    /// to reset a user's.
    pub(super) two_factor: bool,
}

fn core_name<U: AuthEntity>(field: CoreField) -> Option<&'static str> {
    U::schema().column(Role::Core(field)).map(|c| c.name)
}

impl<DB: Backend, E: EntitySet> Users<DB, E> {
    fn email_login() -> bool {
        <E::User as UserEntity>::LOGIN == LoginKind::Email
    }

    fn login_field() -> (&'static str, &'static str) {
        let schema = <E::User as AuthEntity>::schema();
        let field = schema.column(Role::Login).map_or("login_id", |c| c.field);
        let label = if Self::email_login() {
            "login-email"
        } else {
            "login-username"
        };
        (field, label)
    }

    /// The viewer's id and superuser flag.
    fn viewer(cx: &CrudCx<'_>) -> (Option<i64>, bool) {
        match cx.viewer.user::<E::User>() {
            Some(u) => (Some(u.id()), u.core().is_superuser),
            None => (None, false),
        }
    }

    /// The user, unless the viewer may not touch them (a superuser, for
    /// someone who is not one).
    async fn existing(&self, cx: &CrudCx<'_>, id: i64) -> Result<Found<E::User>> {
        let Some(user) = self.store.user(id).await? else {
            return Ok(Found::NotFound);
        };
        if user.core().is_superuser && !Self::viewer(cx).1 {
            return Ok(Found::Forbidden);
        }
        Ok(Found::Yes(user))
    }

    const LINKS: [(Link, &'static str, &'static str); 3] = [
        (Link::UserPermissions, "permission_ids", "admin-permissions"),
        (Link::UserBundles, "bundle_ids", "admin-bundles"),
        (Link::UserGroups, "group_ids", "admin-groups"),
    ];

    async fn fields(
        &self,
        cx: &CrudCx<'_>,
        user: &E::User,
        id: Option<i64>,
    ) -> Result<Vec<FormField>> {
        let (login_field, login_label) = Self::login_field();
        let kind = if Self::email_login() {
            FieldKind::Email
        } else {
            FieldKind::Text
        };
        let core = user.core();
        let mut fields =
            vec![FormField::new(login_field, login_label, kind, user.login_id()).required()];
        fields.extend(extra_fields(user));
        fields.push(FormField::checkbox(
            "is_enabled",
            "admin-enabled",
            core.is_enabled,
        ));
        fields.push(
            FormField::new(
                "disabled_utc",
                "admin-disable-on",
                FieldKind::DateTime,
                core.disabled_utc
                    .map(|d| d.format("%Y-%m-%dT%H:%M").to_string())
                    .unwrap_or_default(),
            )
            .help("admin-disable-on-help"),
        );
        if Self::viewer(cx).1 {
            fields.push(FormField::checkbox(
                "is_superuser",
                "admin-superuser",
                core.is_superuser,
            ));
        }
        for (link, name, label) in Self::LINKS {
            fields.push(link_field(&self.store, link, id, name, label).await?);
        }
        if self.mail {
            if id.is_none() && Self::email_login() {
                fields.push(
                    FormField::checkbox("send_welcome", "admin-send-welcome", true)
                        .help("admin-send-welcome-help"),
                );
            }
        } else {
            let label = if id.is_some() {
                "admin-reset-password"
            } else {
                "admin-password"
            };
            fields.push(
                FormField::new("password", label, FieldKind::Password, "")
                    .help("admin-password-help"),
            );
            fields.push(FormField::new(
                "confirm",
                "admin-confirm-password",
                FieldKind::Password,
                "",
            ));
        }
        Ok(fields)
    }

    async fn save_user(
        &self,
        cx: &CrudCx<'_>,
        id: Option<i64>,
        input: &FormInput,
    ) -> Result<Found<Saved>> {
        let store = &self.store.in_language(cx.tr.lang());
        let tr = &cx.tr;
        let mut user = match id {
            Some(id) => found!(self.existing(cx, id).await?),
            None => crate::core::entity::blank_user::<E::User>()?,
        };
        let (viewer_id, viewer_super) = Self::viewer(cx);
        let mut errors = FieldErrors::new();
        let (login_field, _) = Self::login_field();
        let login = input
            .get(login_field)
            .unwrap_or_default()
            .trim()
            .to_string();
        // A user whose domain belongs to an OAuth provider is that provider's
        // identity: their login id stays as it is.
        let provider = id.and_then(|_| store.provider_of(user.login_id()));
        if let Some(provider) = provider.filter(|_| login != user.login_id()) {
            let message = tr.t_args(
                "admin-login-by-provider",
                &[("provider", provider.to_string())],
            );
            add_error(&mut errors, login_field, message);
        } else if let Err(problem) = check_login_id(<E::User as UserEntity>::LOGIN, &login) {
            // The check `Store::create_user` and `auth create-user` make too.
            add_error(&mut errors, login_field, problem.field_message(tr));
        }
        user.set_login_id(login);
        apply_extras(&mut user, input, &mut errors, tr);
        let now = store.now();
        let was_enabled = user.core().is_enabled;
        let disabled = input.get("disabled_utc").unwrap_or_default();
        match <Option<chrono::NaiveDateTime> as crate::core::entity::FieldValue>::parse_input(
            disabled,
        ) {
            Ok(date) => user.core_mut().disabled_utc = date,
            Err(_) => add_error(
                &mut errors,
                "disabled_utc",
                input_error(tr, Kind::DateTime, disabled),
            ),
        }
        let enabled = input.checked("is_enabled");
        if enabled && !was_enabled {
            // Re-enabling clears a date that has passed.
            user.core_mut().set_enabled(true, now);
        } else {
            user.core_mut().is_enabled = enabled;
        }
        if viewer_super {
            user.core_mut().is_superuser = input.checked("is_superuser");
        }
        let links = chosen_links(store, cx, &Self::LINKS, id, input, &mut errors).await?;
        let password = input.get("password").unwrap_or_default();
        if !self.mail && !password.is_empty() {
            if input.get("confirm") != Some(password) {
                add_error(&mut errors, "confirm", tr.t("passwords-must-match"));
            } else {
                for e in store.password_errors(password, &user) {
                    add_error(&mut errors, "password", e);
                }
            }
        }
        if !errors.is_empty() {
            return Ok(Found::Yes(Saved::Invalid(errors)));
        }
        if !self.mail && !password.is_empty() {
            user.core_mut().password = Some(store.hasher().hash(password).await?);
        }
        let result = match id {
            Some(_) => store.update_user(&mut user).await,
            None => {
                if !self.mail {
                    // Nobody can verify an address without mail: the admin vouches for it.
                    user.core_mut().is_verified = true;
                }
                let send = self.mail && input.checked("send_welcome");
                store.create_user(&mut user, send).await.map(drop)
            }
        };
        match result {
            Ok(()) => {}
            Err(Error::Conflict(_)) => {
                add_error(&mut errors, login_field, tr.t("field-in-use"));
                return Ok(Found::Yes(Saved::Invalid(errors)));
            }
            Err(Error::Invalid(message)) => {
                add_error(&mut errors, "_form", message);
                return Ok(Found::Yes(Saved::Invalid(errors)));
            }
            Err(Error::Mail(e)) => {
                log::error!("kegauth: the welcome mail could not be sent: {e}");
                add_error(&mut errors, "_form", tr.t("admin-welcome-failed"));
                return Ok(Found::Yes(Saved::Invalid(errors)));
            }
            Err(e) => return Err(e),
        }
        for (link, ids) in links {
            store.set_links(link, user.id(), &ids).await?;
        }
        let relogin = if viewer_id == Some(user.id()) {
            store
                .user(user.id())
                .await?
                .map(|u| u.core().session_key.clone())
        } else {
            None
        };
        Ok(Found::Yes(Saved::Done {
            id: user.id(),
            relogin,
        }))
    }
}

impl<DB: Backend, E: EntitySet> CrudSource for Users<DB, E> {
    fn names(&self) -> (&str, &str) {
        ("admin-user", "admin-users")
    }

    fn columns(&self) -> Vec<GridColumn> {
        type U<E> = <E as EntitySet>::User;
        let schema = <U<E> as AuthEntity>::schema();
        let mut cols = Vec::new();
        if let Some(c) = schema.column(Role::Login) {
            cols.push(GridColumn::new(c.name, Self::login_field().1));
        }
        cols.extend(extra_grid_columns::<U<E>>());
        let mut core = vec![
            (CoreField::IsEnabled, "admin-enabled"),
            (CoreField::IsSuperuser, "admin-superuser"),
        ];
        if Self::email_login() {
            core.push((CoreField::IsVerified, "admin-verified"));
        }
        core.push((CoreField::LastLoginUtc, "admin-last-login"));
        for (field, label) in core {
            if let Some(name) = core_name::<U<E>>(field) {
                cols.push(GridColumn::new(name, label));
            }
        }
        cols
    }

    fn list<'a>(
        &'a self,
        cx: &'a CrudCx<'a>,
        query: &'a GridQuery,
    ) -> BoxFuture<'a, Result<GridPage>> {
        Box::pin(async move {
            let columns = self.columns();
            let resend = self.mail && Self::email_login();
            let enrolled = if self.two_factor {
                self.store.two_factor_user_ids().await?
            } else {
                Default::default()
            };
            grid_page(&self.store, cx, &columns, query, |u: &E::User, row| {
                if resend && !u.core().is_verified {
                    row.actions.push(RowAction {
                        name: RESEND_VERIFICATION.into(),
                        label: "admin-resend-verification".into(),
                    });
                }
                if enrolled.contains(&u.id()) {
                    row.actions.push(RowAction {
                        name: RESET_TWO_FACTOR.into(),
                        label: "admin-two-factor-reset".into(),
                    });
                }
            })
            .await
        })
    }

    fn form<'a>(
        &'a self,
        cx: &'a CrudCx<'a>,
        id: Option<i64>,
    ) -> BoxFuture<'a, Result<Found<Vec<FormField>>>> {
        Box::pin(async move {
            let user = match id {
                Some(id) => found!(self.existing(cx, id).await?),
                None => crate::core::entity::blank_user::<E::User>()?,
            };
            Ok(Found::Yes(self.fields(cx, &user, id).await?))
        })
    }

    fn save<'a>(
        &'a self,
        cx: &'a CrudCx<'a>,
        id: Option<i64>,
        input: &'a FormInput,
    ) -> BoxFuture<'a, Result<Found<Saved>>> {
        Box::pin(self.save_user(cx, id, input))
    }

    fn label<'a>(&'a self, cx: &'a CrudCx<'a>, id: i64) -> BoxFuture<'a, Result<Found<String>>> {
        Box::pin(async move {
            Ok(match self.existing(cx, id).await? {
                Found::Yes(u) => Found::Yes(u.login_id().to_string()),
                Found::NotFound => Found::NotFound,
                Found::Forbidden => Found::Forbidden,
            })
        })
    }

    fn delete<'a>(&'a self, cx: &'a CrudCx<'a>, id: i64) -> BoxFuture<'a, Result<Found<Deleted>>> {
        Box::pin(async move {
            let user = found!(self.existing(cx, id).await?);
            if Self::viewer(cx).0 == Some(id) {
                return Ok(Found::Yes(Deleted::Refused(cx.tr.t("admin-delete-self"))));
            }
            match self.store.delete_user(id).await {
                Ok(()) => Ok(Found::Yes(Deleted::Done)),
                Err(Error::Referenced(_)) => Ok(Found::Yes(refused(&cx.tr, user.login_id()))),
                Err(Error::NotFound(_)) => Ok(Found::NotFound),
                Err(e) => Err(e),
            }
        })
    }

    fn row_actions(&self) -> Vec<&'static str> {
        row_actions(Section::Users)
    }

    fn row_action<'a>(
        &'a self,
        cx: &'a CrudCx<'a>,
        name: &'a str,
        id: i64,
    ) -> BoxFuture<'a, Result<Found<Flash>>> {
        Box::pin(async move {
            if name == END_SESSIONS {
                let mut user = found!(self.existing(cx, id).await?);
                let (actor, _) = Self::viewer(cx);
                self.store.end_all_sessions(&mut user, actor).await?;
                return Ok(Found::Yes(Flash {
                    category: "success".into(),
                    message: cx.tr.t_args(
                        "admin-sessions-ended",
                        &[("login", user.login_id().to_string())],
                    ),
                }));
            }
            if name == RESET_TWO_FACTOR && self.two_factor {
                let _user = found!(self.existing(cx, id).await?);
                self.store.disable_two_factor(id, true).await?;
                return Ok(Found::Yes(Flash {
                    category: "success".into(),
                    message: cx.tr.t("admin-two-factor-was-reset"),
                }));
            }
            if name != RESEND_VERIFICATION || !self.mail || !Self::email_login() {
                return Ok(Found::NotFound);
            }
            let user = found!(self.existing(cx, id).await?);
            let flash = |category: &str, key: &str| Flash {
                category: category.into(),
                message: cx.tr.t(key),
            };
            if user.core().is_verified {
                return Ok(Found::Yes(flash("info", "admin-already-verified")));
            }
            // Without mail `self.mail` is false and the guard above answered.
            #[cfg(not(feature = "mail"))]
            return Ok(Found::NotFound);
            #[cfg(feature = "mail")]
            {
                let store = self.store.in_language(cx.tr.lang());
                Ok(Found::Yes(
                    // Within `mail_limit`; past it the page says the same.
                    match store
                        .send_limited(crate::services::mail::MailKind::NewUser, &user)
                        .await
                    {
                        Ok(_) => flash("success", "admin-verification-sent"),
                        Err(e) => {
                            log::error!("kegauth: verification mail to user {id} failed: {e}");
                            flash("error", "admin-verification-failed")
                        }
                    },
                ))
            }
        })
    }
}
