// Modules in workerd have import.meta.url (the static-file helpers resolve package files from it and fall back
// when nothing is there); the generated runtime types do not declare it.
interface ImportMeta {
  readonly url: string;
}
