"""Create a keg-auth database the way keg-auth does, with keg-auth's own test app.

    python make_db.py <sqlalchemy-url> <expected.json>

The schema is keg_auth_ta's (keg-auth 0.9.1's test app, shipped in the package),
created by SQLAlchemy's create_all; the permissions are synced by keg-auth's
AuthManager; every row below is written through keg-auth's models (passwords
hashed by keg-auth's bcrypt context, cost 12, and one by its pbkdf2_sha256
scheme, the API token made by UserTokenMixin.generate_api_token). What keg-auth
says about each user (get_all_permission_tokens(), is_active) goes to
expected.json, which kegauth's takeover tests (tests/keg_auth_peer.rs) compare
against.
"""

import json
import sys

import sqlalchemy as sa

from keg.db import db
from keg.signals import db_init_post
from keg_auth.model.passwords import PasswordContext
from keg_auth_ta.app import KegAuthTestApp

import ka_app

# (email, password, superuser, enabled, verified, groups, bundles, permissions)
USERS = [
    ('admin@example.com', 'admin-pass-1', True, True, True, [], [], []),
    ('ann@example.com', 'ann-pass-1', False, True, True, ['managers'], [], []),
    ('bob@example.com', 'bob-pass-1', False, True, True, [], ['both'], ['permission2']),
    ('cat@example.com', 'cat-pass-1', False, True, True, ['staff'], ['p1'], []),
    ('dan@example.com', 'dan-pass-1', False, True, True, [], [], []),
    ('dis@example.com', 'dis-pass-1', False, False, True, ['staff'], [], []),
    ('unv@example.com', 'unv-pass-1', False, True, False, ['managers'], [], []),
]
# A user whose hash keg-auth wrote with its pbkdf2_sha256 scheme (its second).
PBKDF2_USER = ('eve@example.com', 'eve-pass-1')
TOKEN_USER = ('tok@example.com', 'tok-pass-1')


def main(url, out):
    app = ka_app.make(url)
    from keg_auth_ta.model import entities as ents

    with app.app_context():
        db.drop_all()
        db.create_all()
        # keg-auth syncs its permissions when the database is initialised.
        db_init_post.send(app)
        perms = {p.token: p for p in ents.Permission.query}
        assert sorted(perms) == ['auth-manage', 'permission1', 'permission2'], sorted(perms)

        bundles = {
            'p1': ents.Bundle.add(name='p1', permissions=[perms['permission1']]),
            'both': ents.Bundle.add(
                name='both', permissions=[perms['permission1'], perms['permission2']]
            ),
            'empty': ents.Bundle.add(name='empty'),
        }
        groups = {
            'managers': ents.Group.add(
                name='managers', permissions=[perms['auth-manage']], bundles=[bundles['p1']]
            ),
            'staff': ents.Group.add(name='staff', permissions=[perms['permission2']]),
        }
        for email, password, su, enabled, verified, gs, bs, ps in USERS:
            ents.User.add(
                email=email,
                name=email.split('@')[0].title(),
                password=password,
                is_superuser=su,
                is_enabled=enabled,
                is_verified=verified,
                groups=[groups[g] for g in gs],
                bundles=[bundles[b] for b in bs],
                permissions=[perms[p] for p in ps],
            )
        eve = ents.User.add(email=PBKDF2_USER[0], name='Eve', password='placeholder',
                            is_verified=True)
        eve.password = None
        db.session.flush()
        pbkdf2 = PasswordContext(schemes=['pbkdf2_sha256']).hash(PBKDF2_USER[1])
        # Raw SQL: the model's column type would hash the hash again.
        db.session.execute(
            sa.text('UPDATE users SET password = :p WHERE id = :id'),
            {'p': pbkdf2.encode(), 'id': eve.id},
        )
        tok = ents.UserWithToken.add(email=TOKEN_USER[0], password=TOKEN_USER[1],
                                     is_verified=True)
        api_token = tok.generate_api_token()
        db.session.commit()

        expected = {'users': [], 'groups': {}, 'bundles': {}, 'permissions': sorted(perms)}
        passwords = {u[0]: u[1] for u in USERS}
        passwords[PBKDF2_USER[0]] = PBKDF2_USER[1]
        db.session.expire_all()
        for user in ents.User.query.order_by(ents.User.id):
            stored = bytes(user.password.hash).decode()
            expected['users'].append({
                'id': user.id,
                'email': user.email,
                'password': passwords[user.email],
                'hash_scheme': 'pbkdf2_sha256' if stored.startswith('$pbkdf2') else 'bcrypt',
                'is_superuser': user.is_superuser,
                'is_enabled': user.is_enabled,
                'is_verified': user.is_verified,
                'is_active': bool(user.is_active),
                'permissions': sorted(user.get_all_permission_tokens()),
            })
        for g in ents.Group.query:
            expected['groups'][g.name] = sorted(p.token for p in g.get_all_permissions())
        for b in ents.Bundle.query:
            expected['bundles'][b.name] = sorted(p.token for p in b.permissions)
        expected['token_user'] = {
            'table': ents.UserWithToken.__tablename__,
            'email': TOKEN_USER[0],
            'password': TOKEN_USER[1],
            'api_token': api_token,
        }
        # keg-auth itself accepts the token it made.
        assert ents.UserWithToken.get_user_for_api_token(api_token) is not None

    with open(out, 'w') as f:
        json.dump(expected, f, indent=2, sort_keys=True)
    print(f'keg-auth: {len(expected["users"])} users, {len(expected["groups"])} groups, '
          f'{len(expected["bundles"])} bundles written to {url.split("@")[-1]}')


if __name__ == '__main__':
    main(sys.argv[1], sys.argv[2])
