import type { SmppConnectorRoute, SmppConnectorSettings } from '@reach/accounts';

/**
 * What the SMPP channel needs to know about connectors and routes, as a port: the channel takes
 * them through injected loaders (`reachctl connector add|route` writes them; the dispatcher
 * wiring reads them with `loadConnectors` / `loadConnectorRoutes` of `@reach/accounts`), so the
 * channel runs no repository query of its own for them.
 *
 * A connector comes with its password in clear (the loader unseals it; never logged). Numeric
 * sources use the connector's source TON/NPI; alphanumeric sender ids always go as TON 5 / NPI 0.
 */
export type { SmppConnectorSettings };

/** The account's sender (a number or an alphanumeric sender id) goes out on that connector. */
export type SmppRoute = SmppConnectorRoute;

/** Enabled connectors only. */
export type LoadSmppConnectors = () => Promise<readonly SmppConnectorSettings[]>;
/** Every route, also those to disabled connectors (their messages fail with 30003). */
export type LoadSmppRoutes = () => Promise<readonly SmppRoute[]>;
