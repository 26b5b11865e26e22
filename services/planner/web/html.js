// Preact's `h` bound to htm: JSX-like templates in plain JavaScript, so the browser runs these files as they are
// (no build step; ADR 0037).
import { h } from 'preact';
import htm from 'htm';

export const html = htm.bind(h);
