// Vite asset imports: `import url from './file.onnx?url'` gives the URL of the file in the built site.
declare module '*?url' {
  const url: string;
  export default url;
}
