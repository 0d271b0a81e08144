// Light/dark theme: a stored choice (`cafleet-admin-theme`) or, without one, the OS
// preference, followed live. index.html applies the class before the bundle loads.

export const THEME_KEY = 'cafleet-admin-theme';

function stored(): 'light' | 'dark' | null {
  try {
    const v = localStorage.getItem(THEME_KEY);
    return v === 'light' || v === 'dark' ? v : null;
  } catch {
    return null;
  }
}

function osDark(): boolean {
  return typeof matchMedia === 'function' && matchMedia('(prefers-color-scheme: dark)').matches;
}

function apply(dark: boolean): void {
  const root = document.documentElement;
  root.classList.toggle('dark', dark);
  root.style.colorScheme = dark ? 'dark' : 'light';
}

class Theme {
  dark = $state(false);

  constructor() {
    const s = stored();
    this.dark = s ? s === 'dark' : osDark();
    apply(this.dark);
    if (typeof matchMedia === 'function') {
      matchMedia('(prefers-color-scheme: dark)').addEventListener('change', (e) => {
        if (stored() === null) {
          this.dark = e.matches;
          apply(this.dark);
        }
      });
    }
  }

  toggle(): void {
    this.dark = !this.dark;
    try {
      localStorage.setItem(THEME_KEY, this.dark ? 'dark' : 'light');
    } catch {
      // private mode: the choice lasts for this page only
    }
    apply(this.dark);
  }
}

export const theme = new Theme();
