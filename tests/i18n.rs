//! Translations through HTTP: with `Accept-Language: es` the login page, a
//! failed login, the forgot flow and its mail (on a real SMTP server), the
//! reset page with a password-policy error, the CRUD pages and the 403 page
//! are in Spanish; English stays the default; apps override strings, add
//! languages and choose the language with a hook; a catalog that does not
//! parse stops the launch.

use crate::common;

use crate::common::smtp::{SmtpServer, ORIGIN};
use crate::common::web::{
    app_configured, body, csrf_in, mail_app_with, OnSqlite, SqliteDb, TestBackend,
};
use rocket::http::{Header, Status};

const ES: (&str, &str) = ("Accept-Language", "es-ES,es;q=0.9,en;q=0.5");

#[rocket::async_test]
async fn spanish_pages_flashes_mail_and_crud() {
    let smtp = SmtpServer::start();
    let Some(app) = mail_app_with::<OnSqlite>(smtp.figment()).await else {
        return;
    };
    let ann = app
        .user("ann@example.com", Some("correct horse battery staple"))
        .await;

    // English without Accept-Language.
    let page = body(app.client.get("/login").dispatch().await).await;
    assert!(page.contains(r#"<html lang="en">"#), "{page}");
    assert!(page.contains(">Log In</button>"), "{page}");

    // The login page in Spanish.
    let r = app.browse_with("/login", &[ES]).await;
    assert_eq!(r.status(), Status::Ok);
    let page = body(r).await;
    assert!(page.contains(r#"<html lang="es">"#), "{page}");
    assert!(page.contains("<title>Iniciar sesión</title>"), "{page}");
    assert!(page.contains(">Correo electrónico</label>"), "{page}");
    assert!(page.contains(">Contraseña</label>"), "{page}");
    assert!(page.contains(">Olvidé mi contraseña</a>"), "{page}");

    // A failed login.
    let csrf = csrf_in(&page);
    let r = app
        .post_form_with(
            "/login",
            &[
                ("login_id", "ann@example.com"),
                ("password", "wrong password"),
                ("csrf_token", &csrf),
            ],
            &[ES],
        )
        .await;
    assert_eq!(r.status(), Status::Ok);
    let page = body(r).await;
    assert!(page.contains("Usuario o contraseña incorrectos."), "{page}");
    // An empty field: the field error too.
    let r = app
        .post_form_with(
            "/login",
            &[("login_id", "ann@example.com"), ("csrf_token", &csrf)],
            &[ES],
        )
        .await;
    let page = body(r).await;
    assert!(page.contains("Este campo es obligatorio."), "{page}");
    assert!(
        page.contains("El formulario tiene errores; revíselos abajo."),
        "{page}"
    );

    // Forgot password: the flash and the mail.
    let page = body(app.browse_with("/forgot-password", &[ES]).await).await;
    assert!(
        page.contains("<title>Restablecer la contraseña</title>"),
        "{page}"
    );
    assert!(
        page.contains(">Enviar correo de restablecimiento</button>"),
        "{page}"
    );
    let r = app.forgot_from("ann@example.com", &[ES], None).await;
    assert_eq!(r.status(), Status::SeeOther);
    assert_eq!(
        app.flashes().await,
        "success: Busque en su correo el enlace para cambiar su contraseña."
    );
    let mail = smtp.wait_for(1).await.remove(0);
    assert_eq!(mail.subject(), "[TS] Enlace para restablecer la contraseña");
    let text = mail.text();
    assert!(
        text.contains("Alguien ha pedido restablecer su contraseña en Test Site."),
        "{text}"
    );
    assert!(text.contains("Para elegir una contraseña nueva, abra este enlace:"));
    assert!(
        mail.html().contains("Para elegir una contraseña nueva"),
        "{}",
        mail.html()
    );

    // The reset page, and the password policy in Spanish.
    let path = mail.link_path(ORIGIN);
    let page = body(app.browse_with(&path, &[ES]).await).await;
    assert!(
        page.contains("<title>Completar el restablecimiento de la contraseña</title>"),
        "{page}"
    );
    assert!(page.contains(">Cambiar la contraseña</button>"), "{page}");
    let csrf = csrf_in(&page);
    let r = app
        .post_form_with(
            &path,
            &[
                ("password", "corta"),
                ("confirm", "corta"),
                ("csrf_token", &csrf),
            ],
            &[ES],
        )
        .await;
    let page = body(r).await;
    assert!(
        page.contains("La contraseña debe tener al menos 8 caracteres."),
        "{page}"
    );

    // A page ann may not see: the 403 page.
    app.log_in_as(&ann).await;
    let r = app.browse_with("/groups", &[ES]).await;
    assert_eq!(r.status(), Status::Forbidden);
    let page = body(r).await;
    assert!(
        page.contains("No tiene permiso para ver esta página."),
        "{page}"
    );

    // The CRUD pages for an admin.
    app.login_with("admin@example.com", &["auth-manage"]).await;
    let r = app.browse_with("/groups", &[ES]).await;
    assert_eq!(r.status(), Status::Ok);
    let page = body(r).await;
    assert!(page.contains("<title>Grupos</title>"), "{page}");
    assert!(page.contains(">Crear Grupo</a>"), "{page}");
    assert!(page.contains(">Filtrar</button>"), "{page}");
    assert!(page.contains(">Exportar CSV</a>"), "{page}");
    assert!(page.contains("No se encontraron registros."), "{page}");
    assert!(page.contains("Página 1 de 1 (0 en total)"), "{page}");
    let page = body(app.browse_with("/groups/add", &[ES]).await).await;
    assert!(page.contains("<title>Crear Grupo</title>"), "{page}");
    assert!(page.contains(">Nombre</label>"), "{page}");
    assert!(
        page.contains(r#"<label for="permission_ids">Permisos</label>"#),
        "{page}"
    );
    assert!(page.contains(">Guardar cambios</button>"), "{page}");
    let csrf = csrf_in(&page);
    let r = app
        .post_form_with("/groups/add", &[("name", ""), ("csrf_token", &csrf)], &[ES])
        .await;
    let page = body(r).await;
    assert!(page.contains("Este campo es obligatorio."), "{page}");
    let r = app
        .post_form_with(
            "/groups/add",
            &[("name", "Analistas"), ("csrf_token", &csrf)],
            &[ES],
        )
        .await;
    assert_eq!(r.status(), Status::SeeOther);
    assert_eq!(
        app.flashes().await,
        "success: Se ha creado correctamente: Grupo"
    );
    let page = body(app.browse_with("/users", &[ES]).await).await;
    assert!(page.contains("<title>Usuarios</title>"), "{page}");
    assert!(page.contains("Superusuario"), "{page}");
    // Booleans in the grid.
    assert!(page.contains("<td>Sí</td>"), "{page}");
}

/// The app's language hook: a `lang` cookie.
fn lang_cookie(req: &rocket::Request<'_>) -> Option<String> {
    req.cookies().get("lang").map(|c| c.value().to_string())
}

#[rocket::async_test]
async fn apps_override_strings_add_languages_and_pick_the_language() {
    let Some(app) = app_configured::<OnSqlite>(
        rocket::Config::figment(),
        |b| {
            b.translations("es", "login-button = Entrar")
                .translations(
                    "fr",
                    "login-button = Se connecter\nlogin-password = Mot de passe",
                )
                .language(lang_cookie)
        },
        |r| r,
    )
    .await
    else {
        return;
    };
    let login = |lang: &'static str, cookie: Option<&'static str>| {
        let client = &app.client;
        async move {
            let mut request = client
                .get("/login")
                .header(Header::new("Accept-Language", lang));
            if let Some(value) = cookie {
                request = request.cookie(("lang", value));
            }
            body(request.dispatch().await).await
        }
    };
    // An override of one Spanish string; the others stay.
    let page = login("es", None).await;
    assert!(page.contains(">Entrar</button>"), "{page}");
    assert!(page.contains(">Contraseña</label>"), "{page}");
    // A new language: its strings, English for the rest.
    let page = login("fr-CA, es;q=0.5", None).await;
    assert!(page.contains(r#"<html lang="fr">"#), "{page}");
    assert!(page.contains(">Se connecter</button>"), "{page}");
    assert!(page.contains(">Mot de passe</label>"), "{page}");
    assert!(page.contains(">Email</label>"), "{page}");
    // A language nobody has: English.
    let page = login("de", None).await;
    assert!(page.contains(">Log In</button>"), "{page}");
    // The hook wins over Accept-Language; a hook language without a catalog
    // falls back to Accept-Language.
    let page = login("es", Some("fr")).await;
    assert!(page.contains(">Se connecter</button>"), "{page}");
    let page = login("es", Some("xx")).await;
    assert!(page.contains(">Entrar</button>"), "{page}");
}

#[rocket::async_test]
async fn translations_that_do_not_parse_stop_the_launch() {
    let Some((url, _cleanup)) = OnSqlite::database().await else {
        return;
    };
    let rocket = common::web::rocket_for::<SqliteDb>(&url, rocket::Config::figment(), |b| {
        b.translations("es", "login-button = {")
    });
    let err = rocket.ignite().await.expect_err("the launch stops");
    assert!(
        matches!(err.kind(), rocket::error::ErrorKind::FailedFairings(f) if f.iter().any(|i| i.name == "kegauth")),
        "{err}"
    );
}
