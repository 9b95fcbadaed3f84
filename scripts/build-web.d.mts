/** Types of build-web.mjs (plain JavaScript so it runs before anything is compiled). */
export declare const WEB_SRC: string;
export declare const WEB_OUT: string;
export declare function webIsStale(outDir?: string): boolean;
export declare function buildWeb(opts?: { outDir?: string; minify?: boolean }): Promise<string>;
export declare function ensureWebBuilt(outDir?: string): Promise<string>;
