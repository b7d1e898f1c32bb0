/**
 * The app as the offline console runs it, the way `stripe apps start --manifest stripe-app.local.json`
 * does: the manifest's views and constants (stripe-app.local.json over stripe-app.json), and the
 * views bundled into the console's extension worker — rebuilt when a file under src/ or either
 * manifest changes, so the open page reloads its views without a restart. A build that fails
 * keeps the last good bundle and reports the error.
 */
import { type BuildContext, type BuildOptions, context, type Plugin } from 'esbuild';
import { existsSync, readFileSync, unwatchFile, watchFile } from 'node:fs';
import path from 'node:path';

const REPO = path.resolve(__dirname, '..', '..', '..');
const MANIFESTS = ['stripe-app.json', 'stripe-app.local.json'];
/** How often the manifests are checked (fs.watchFile polls: it also sees a file that appears). */
const MANIFEST_POLL_MS = 300;

/** How the console bundles what runs in the browser: its page and the views' worker. */
export const BROWSER_BUNDLE = {
  bundle: true,
  format: 'iife',
  platform: 'browser',
  target: 'es2020',
  jsx: 'automatic',
  minify: true,
  write: false,
  define: { 'process.env.NODE_ENV': '"production"' },
  logLevel: 'silent',
} satisfies BuildOptions;

export interface AppViews {
  /** The component of each viewport the console shows. */
  drawer: string;
  settings: string;
}

export interface AppBuild {
  /** Counts the good builds: the page reloads its views when it changes. */
  number: number;
  extensionJs: string;
  constants: Record<string, unknown>;
  views: AppViews;
  /** The last build's or manifest's error, if the last attempt failed. */
  error?: string;
}

interface Manifest {
  constants?: Record<string, unknown>;
  ui_extension?: { views?: Array<{ viewport: string; component: string }> };
}

function readManifest(root: string): { constants: Record<string, unknown>; views: AppViews } {
  const [base, local] = MANIFESTS.map((name) => {
    const file = path.join(root, name);
    if (!existsSync(file)) return {};
    try {
      return JSON.parse(readFileSync(file, 'utf8')) as Manifest;
    } catch (err) {
      throw new Error(`${name}: ${(err as Error).message}`);
    }
  });
  const views = local.ui_extension?.views ?? base.ui_extension?.views ?? [];
  const of = (viewport: string) => views.find((v) => v.viewport === viewport)?.component;
  const drawer = of('stripe.dashboard.drawer.default');
  const settings = of('settings');
  if (!drawer || !settings) throw new Error('the manifest needs a view for stripe.dashboard.drawer.default and one for settings');
  return { constants: { ...base.constants, ...local.constants }, views: { drawer, settings } };
}

export class AppSource {
  private ctx?: BuildContext;
  private build: AppBuild = { number: 0, extensionJs: '', constants: {}, views: { drawer: '', settings: '' } };
  private manifestText = '';
  private closed = false;
  /** Resolves the first build of a new context. */
  private settled?: () => void;

  private constructor(readonly root: string) {}

  /** Builds once (failing if the first build fails) and keeps watching `root`. */
  static async watch(root = REPO): Promise<AppSource> {
    const source = new AppSource(root);
    await source.load();
    if (source.build.number === 0) throw new Error(`the app's views do not build: ${source.build.error}`);
    for (const name of MANIFESTS) watchFile(path.join(root, name), { interval: MANIFEST_POLL_MS }, () => void source.load());
    return source;
  }

  get current(): AppBuild {
    return this.build;
  }

  /** (Re)reads the manifests and, when they changed, starts a new watching build for their views. */
  private async load(): Promise<void> {
    const text = MANIFESTS.map((name) => (existsSync(path.join(this.root, name)) ? readFileSync(path.join(this.root, name), 'utf8') : '')).join('\0');
    if (text === this.manifestText || this.closed) return;
    this.manifestText = text;
    let manifest: ReturnType<typeof readManifest>;
    try {
      manifest = readManifest(this.root);
    } catch (err) {
      this.build = { ...this.build, error: (err as Error).message };
      console.warn(`views: the manifest cannot be read, the console keeps the last good build: ${this.build.error}`);
      return;
    }
    await this.ctx?.dispose();
    const next = await context({
      ...BROWSER_BUNDLE,
      stdin: { contents: workerEntry(this.root, manifest.views), resolveDir: this.root, loader: 'tsx', sourcefile: 'offline-console-views.tsx' },
      // The views may live outside this repository (STRIPE_APP_DIR): its packages still serve them.
      nodePaths: [path.join(REPO, 'node_modules')],
      plugins: [this.onBuild(manifest)],
    });
    if (this.closed) return void next.dispose();
    this.ctx = next;
    // watch() builds at once and again on every change of a file the bundle read.
    await new Promise<void>((resolve) => {
      this.settled = resolve;
      void next.watch();
    });
  }

  private onBuild(manifest: ReturnType<typeof readManifest>): Plugin {
    return {
      name: 'offline-console-build',
      setup: (build) => {
        build.onEnd((result) => {
          const js = result.outputFiles?.[0]?.text;
          if (result.errors.length > 0 || !js) {
            const first = result.errors[0];
            const where = first?.location ? `${path.relative(this.root, path.resolve(first.location.file))}:${first.location.line}: ` : '';
            this.build = { ...this.build, error: first ? `${where}${first.text}` : 'the build wrote nothing' };
            console.warn(`views: the build failed, the console keeps the last good one: ${this.build.error}`);
          } else {
            if (this.build.number > 0) console.log(`views: rebuilt (${this.build.error ? 'the error is fixed' : 'a file changed'}); the console reloads them`);
            this.build = { number: this.build.number + 1, extensionJs: js, ...manifest };
          }
          this.settled?.();
        });
      },
    };
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const name of MANIFESTS) unwatchFile(path.join(this.root, name));
    await this.ctx?.dispose();
  }
}

/** The worker's entry: the console's worker code and the manifest's views from `root`. */
function workerEntry(root: string, views: AppViews): string {
  const names = [...new Set([views.drawer, views.settings])];
  const file = (component: string) => JSON.stringify(path.join(root, 'src', 'views', component));
  return [
    `import { startExtensionWorker } from ${JSON.stringify(path.join(__dirname, 'browser', 'extension-worker'))};`,
    ...names.map((name, i) => `import View${i} from ${file(name)};`),
    `startExtensionWorker({ ${names.map((name, i) => `${JSON.stringify(name)}: View${i}`).join(', ')} });`,
  ].join('\n');
}
