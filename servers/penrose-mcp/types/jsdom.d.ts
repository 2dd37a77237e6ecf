// The one jsdom API this server uses. DefinitelyTyped has no @types/jsdom
// for jsdom 29 (the newest jsdom that supports Node 20), so declare it here
// rather than pin typings for another major version.
declare module "jsdom" {
  export class JSDOM {
    constructor(html?: string, options?: Record<string, unknown>);
    readonly window: Window & typeof globalThis & Record<string, any>;
  }
}
