/**
 * The pages' words and formats: message catalogues (web/shared/messages.ts) looked up by key with
 * `{name}` parameters, and times, numbers, durations and money through `Intl` in the chosen language.
 * The language is the user's choice (kept in localStorage), else the browser's when it is Chinese, else
 * English. Elements with `data-i18n="key"` (text) or `data-i18n-attr="attr:key,…"` are filled by applyStatic.
 */
import { CATALOGUES, type Locale, type MessageKey } from './messages';

const LOCALE_KEY = 'dispatchd.locale';
export const LOCALES = Object.keys(CATALOGUES) as Locale[];

let locale: Locale = initialLocale();
let currency = 'USD';
const listeners = new Set<() => void>();
let timeFmt: Intl.DateTimeFormat;
let timeSecFmt: Intl.DateTimeFormat;
let numberFmt: Intl.NumberFormat;
let moneyFmt: Intl.NumberFormat;
let minuteFmt: Intl.NumberFormat;
makeFormats();

function initialLocale(): Locale {
  const kept = safeStorage()?.getItem(LOCALE_KEY);
  if (kept && kept in CATALOGUES) return kept as Locale;
  return navigator.language.toLowerCase().startsWith('zh') ? 'zh-CN' : 'en';
}

function safeStorage(): Storage | null {
  try {
    return localStorage;
  } catch {
    return null;
  }
}

function makeFormats(): void {
  timeFmt = new Intl.DateTimeFormat(locale, { hour: '2-digit', minute: '2-digit', hourCycle: 'h23' });
  timeSecFmt = new Intl.DateTimeFormat(locale, { hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23' });
  numberFmt = new Intl.NumberFormat(locale, { maximumFractionDigits: 1 });
  moneyFmt = new Intl.NumberFormat(locale, { style: 'currency', currency });
  minuteFmt = new Intl.NumberFormat(locale, { style: 'unit', unit: 'minute', unitDisplay: 'short', maximumFractionDigits: 0 });
}

export function getLocale(): Locale {
  return locale;
}

export function setLocale(next: Locale): void {
  if (!(next in CATALOGUES) || next === locale) return;
  locale = next;
  safeStorage()?.setItem(LOCALE_KEY, next);
  makeFormats();
  document.documentElement.lang = next;
  for (const fn of listeners) fn();
}

export function setCurrency(code: string): void {
  currency = code;
  makeFormats();
}

/** Called after every language change. */
export function onLocaleChange(fn: () => void): void {
  listeners.add(fn);
}

/** The message `key` in the current language, `{name}` replaced from `params`. */
export function t(key: MessageKey, params?: Record<string, string | number>): string {
  const text: string = CATALOGUES[locale][key] ?? CATALOGUES.en[key];
  if (!params) return text;
  return text.replace(/\{(\w+)\}/g, (m, name: string) => (name in params ? String(params[name]) : m));
}

/** A message key chosen at run time (a status word, a reason code): the key itself when unknown. */
export function tMaybe(key: string, params?: Record<string, string | number>): string {
  return key in CATALOGUES.en ? t(key as MessageKey, params) : key;
}

export const fmt = {
  time: (ms: number) => timeFmt.format(ms),
  timeSec: (ms: number) => timeSecFmt.format(ms),
  number: (n: number) => numberFmt.format(n),
  money: (n: number) => moneyFmt.format(n),
  /** An amount in a given currency (a carrier's cost: never converted to the console's currency). */
  moneyIn: (n: number, code: string) => new Intl.NumberFormat(locale, { style: 'currency', currency: code }).format(n),
  percent: (n: number) => `${numberFmt.format(n)} %`,
  /** Whole minutes (rounded), e.g. "3 min" / "3分钟". */
  minutes: (ms: number) => minuteFmt.format(Math.round(ms / 60_000)),
  /** A short span: seconds under a minute, else minutes, else hours and minutes. */
  duration(ms: number): string {
    const s = Math.max(0, Math.round(ms / 1000));
    if (s < 60) return t('unit.seconds', { n: numberFmt.format(s) });
    const m = Math.floor(s / 60);
    if (m < 60) return t('unit.minSec', { m: numberFmt.format(m), s: numberFmt.format(s % 60) });
    return t('unit.hourMin', { h: numberFmt.format(Math.floor(m / 60)), m: numberFmt.format(m % 60) });
  },
};

/** Fills `data-i18n` texts and `data-i18n-attr` attributes under `root`. */
export function applyStatic(root: ParentNode = document): void {
  for (const node of root.querySelectorAll<HTMLElement>('[data-i18n]')) node.textContent = tMaybe(node.dataset.i18n!);
  for (const node of root.querySelectorAll<HTMLElement>('[data-i18n-attr]')) {
    for (const pair of node.dataset.i18nAttr!.split(',')) {
      const [attr, key] = pair.split(':');
      node.setAttribute(attr!, tMaybe(key!));
    }
  }
}
