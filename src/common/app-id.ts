/** The app id from the manifest: part of the Dashboard's OAuth redirect URI. */
import manifest from '../../stripe-app.json';

export const APP_ID: string = manifest.id;
